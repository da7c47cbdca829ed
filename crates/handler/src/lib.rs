#![no_std]
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

mod apply;
mod decide;
pub mod event;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use apply::{Handled, gate_from_json, handle_event, handle_event_json, internal};
pub use decide::{Deny, Forward, Outcome, RequestView, decide, log_line, response};
pub use edgegate_core::{Gate, Reason};
