#![no_std]
#![forbid(unsafe_code)]
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

extern crate alloc;

pub mod config;
mod gate;
pub mod locate;
pub mod path;
mod reason;
pub mod token;

pub use config::{Config, ConfigError, KeyConfig, Secret};
pub use gate::{Claims, Gate, Scope, SignError, Verified};
pub use reason::Reason;
