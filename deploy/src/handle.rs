//! `edgegate handle` (SPEC §7): the same `decide` as the edge, on one event.

use anyhow::bail;

use crate::cli::HandleArgs;
use crate::output::{Output, Status};

pub fn run(_args: &HandleArgs, _out: Output) -> anyhow::Result<Status> {
    bail!("handle: not implemented yet")
}
