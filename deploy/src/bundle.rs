//! `edgegate bundle` (SPEC §7): the deterministic Lambda@Edge zip.

use anyhow::bail;

use crate::cli::BundleArgs;
use crate::output::{Output, Status};

pub fn run(_args: &BundleArgs, _out: Output) -> anyhow::Result<Status> {
    bail!("bundle: not implemented yet")
}
