#![no_std]
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

// Public for the fuzz target only: the layout between `js/index.mjs` and the WASM exports.
#[doc(hidden)]
pub mod abi;
mod decide;
pub mod event;
mod event_handling;
mod generated;
mod load;
mod origin_response;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use decide::{Deny, Forward, Outcome, RequestView, decide, log_line, push_json_string};
pub use edgegate_core::{Gate, Reason};
pub use event_handling::{
    GateState, Handled, apply_forward, fault, handle_event, handle_event_json, handle_event_value, internal,
    origin_response_of,
};
pub use generated::{Generated, response};
pub use load::{JsonProblem, LoadError, config_from_json, gate_from_json, gate_from_json_bytes};
pub use origin_response::{CacheHeader, origin_cache_control, parse_status, set_cache_control};
