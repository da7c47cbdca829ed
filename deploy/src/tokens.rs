//! `generate-secret`, `sign`, `verify` (SPEC §7).

use anyhow::bail;

use crate::cli::{GenerateSecretArgs, SignArgs, VerifyArgs};
use crate::output::{Output, Status};

pub fn generate_secret(_args: &GenerateSecretArgs, _out: Output) -> anyhow::Result<Status> {
    bail!("generate-secret: not implemented yet")
}

pub fn sign(_args: &SignArgs, _out: Output) -> anyhow::Result<Status> {
    bail!("sign: not implemented yet")
}

pub fn verify(_args: &VerifyArgs, _out: Output) -> anyhow::Result<Status> {
    bail!("verify: not implemented yet")
}
