//! `edgegate serve` (SPEC §7): the gate on one machine.

use anyhow::bail;

use crate::cli::ServeArgs;
use crate::output::{Output, Status};

pub async fn run(_args: ServeArgs, _out: Output) -> anyhow::Result<Status> {
    bail!("serve: not implemented yet")
}
