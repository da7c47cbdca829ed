//! AWS deployment commands (SPEC §7): bootstrap, publish, reconfigure-distribution,
//! versions, prune.

use anyhow::bail;

use crate::cli::{BootstrapArgs, PruneArgs, PublishArgs, ReconfigureArgs, VersionsArgs};
use crate::output::{Output, Status};

pub async fn bootstrap(_args: &BootstrapArgs, _out: Output) -> anyhow::Result<Status> {
    bail!("bootstrap: not implemented yet")
}
pub async fn publish(_args: &PublishArgs, _out: Output) -> anyhow::Result<Status> {
    bail!("publish: not implemented yet")
}
pub async fn reconfigure(_args: &ReconfigureArgs, _out: Output) -> anyhow::Result<Status> {
    bail!("reconfigure-distribution: not implemented yet")
}
pub async fn versions(_args: &VersionsArgs, _out: Output) -> anyhow::Result<Status> {
    bail!("versions: not implemented yet")
}
pub async fn prune(_args: &PruneArgs, _out: Output) -> anyhow::Result<Status> {
    bail!("prune: not implemented yet")
}
