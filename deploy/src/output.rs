//! How commands report: plain text for people, one JSON document for machines
//! (`--output json`), and the exit-code classification of SPEC §7.

use std::fmt;

/// `--output` format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Output {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
}

/// How a command that ran to its end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Exit 0.
    Ok,
    /// A check said no (`verify`, `handle` deny): exit 1.
    Denied,
}

/// Marks an error as an AWS failure (exit 3). Attach with `.map_err(AwsFailure::wrap)` or
/// `aws_call(...)`; everything else that is not a denial exits 2.
#[derive(Debug)]
pub struct AwsFailure {
    /// What we called, e.g. `lambda:UpdateFunctionCode`.
    pub call: String,
    /// The resource, e.g. the function name.
    pub resource: String,
    /// AWS error code (e.g. `ResourceConflictException`) when AWS gave one.
    pub code: Option<String>,
    /// AWS message or transport error text.
    pub message: String,
}

impl fmt::Display for AwsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {} failed", self.call, self.resource)?;
        if let Some(code) = &self.code {
            write!(f, ": {code}")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for AwsFailure {}

/// Exit code for an error (SPEC §7): 3 for AWS failures anywhere in the chain, else 2.
pub fn exit_code_for(error: &anyhow::Error) -> u8 {
    if error.chain().any(|e| e.downcast_ref::<AwsFailure>().is_some()) { 3 } else { 2 }
}

/// Writes to standard output without `print!`'s panic on a closed pipe. A reader that went
/// away (`edgegate versions | head -1`) discards the rest of the output and nothing else: the
/// command still ends with its own status, so `verify`'s "no" stays exit 1 rather than
/// becoming a 0 (or a panic's 101, which is no SPEC §7 code).
pub fn write_stdout(args: fmt::Arguments<'_>, newline: bool) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_fmt(args).and_then(|()| if newline { stdout.write_all(b"\n") } else { Ok(()) });
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// True when the error is a write to a pipe whose reader has gone.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}

/// `println!` that returns `anyhow::Result<()>` (see [`write_stdout`]).
macro_rules! outln {
    () => { $crate::output::write_stdout(format_args!(""), true) };
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!($($arg)*), true) };
}
/// `print!` that returns `anyhow::Result<()>` (see [`write_stdout`]).
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!($($arg)*), false) };
}
pub(crate) use {out, outln};

/// Prints a serializable value as pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?)
}
