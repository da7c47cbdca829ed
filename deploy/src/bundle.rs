//! `edgegate bundle` (SPEC §7): the deterministic Lambda@Edge zip.

use anyhow::bail;

use crate::cli::BundleArgs;
use crate::output::{Output, Status};

/// A built deployment package.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The zip bytes (`index.mjs`, `edgegate.wasm`, `edgegate.json`).
    pub zip: Vec<u8>,
    /// Base64 SHA-256 of `zip`, as Lambda reports `CodeSha256`.
    pub code_sha256: String,
}

/// Builds the deployment zip for a resolved configuration. Same inputs, same bytes.
pub fn build(_config: &edgegate_core::Config) -> anyhow::Result<Bundle> {
    bail!("bundle: not implemented yet")
}

pub fn run(_args: &BundleArgs, _out: Output) -> anyhow::Result<Status> {
    bail!("bundle: not implemented yet")
}
