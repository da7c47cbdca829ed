//! AWS deployment commands (SPEC §7): bootstrap, publish, reconfigure-distribution,
//! versions, prune. Each command builds [`Clients`] from the standard credential chain and
//! hands them to a function that takes them as a parameter, which is what lets the tests
//! point the same code at moto or at a replay client.

pub mod arn;
pub mod clients;
pub mod distribution;
pub mod function;
pub mod publish;
pub mod versions;

#[cfg(test)]
mod moto_tests;
#[cfg(test)]
mod policy_tests;
#[cfg(test)]
pub mod replay_tests;
#[cfg(test)]
pub mod testing;

pub use clients::Clients;

use crate::output::{Output, Status};
use distribution::ReconfigureArgs;
use publish::{BootstrapArgs, PublishArgs};
use versions::{PruneArgs, VersionsArgs};

pub async fn bootstrap(args: &BootstrapArgs, out: Output) -> anyhow::Result<Status> {
    publish::bootstrap(&Clients::from_env().await, args, out).await
}
pub async fn publish(args: &PublishArgs, out: Output) -> anyhow::Result<Status> {
    publish::publish(&Clients::from_env().await, args, out).await
}
pub async fn reconfigure(args: &ReconfigureArgs, out: Output) -> anyhow::Result<Status> {
    distribution::reconfigure(&Clients::from_env().await, args, out).await
}
pub async fn versions(args: &VersionsArgs, out: Output) -> anyhow::Result<Status> {
    versions::versions(&Clients::from_env().await, args, out).await
}
pub async fn prune(args: &PruneArgs, out: Output) -> anyhow::Result<Status> {
    versions::prune(&Clients::from_env().await, args, out).await
}
