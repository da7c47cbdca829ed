#![no_std]
#![forbid(unsafe_code)]
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

extern crate alloc;

pub mod cache;
pub mod config;
mod gate;
pub mod hex;
pub mod locate;
pub mod path;
mod reason;
pub mod redact;
pub mod scan;
pub mod token;

pub use config::{CacheClass, CacheConfig, CacheRule, Config, ConfigError, EncodedSlash, KeyConfig, Secret};
pub use gate::{Claims, Gate, Scope, SignError, Verified, canonical_ip};
pub use reason::Reason;
