//! `edgegate handle` (SPEC §7): the same `handle_event` as the edge, on one event.
//!
//! stdout: exactly what the function would return to CloudFront (the forwarded request or
//! the generated response), pretty JSON by default, one compact line with `--output json`.
//! stderr: the decision's JSON log line, as the function would log it.
//! Exit: 0 forward, 1 generated response (a denial, or a 500 the function would give),
//! 2 for a configuration that does not load or an event file that cannot be read or is
//! not JSON. A configuration the function would answer with 500 `misconfigured` is refused
//! here with exit 2 and the field named: on a workstation the useful answer is why.

use clap::Args;
use std::io::Read as _;
use std::path::Path;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use edgegate_handler::event::{Event, HandlerResult};

use crate::clock::now_or_clock;
use crate::output::{Output, Status, outln};

#[derive(Debug, Args)]
pub struct HandleArgs {
    #[arg(long)]
    pub config: PathBuf,
    /// Viewer-request event JSON file, or `-` for standard input.
    #[arg(long)]
    pub event: PathBuf,
    /// Current time, Unix seconds (default: the system clock).
    #[arg(long)]
    pub now: Option<u64>,
}

pub fn run(args: &HandleArgs, out: Output) -> anyhow::Result<Status> {
    let loaded = crate::config::load(&args.config)?;
    let text = read_event(&args.event)?;
    // Not JSON at all is a usage error. JSON that is not an event the function can read
    // goes on to the handler, which answers it as the function would: 500 `internal` (fail
    // closed), or for an origin-response event the origin's response unchanged.
    let event = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(event) => event,
        Err(e) => bail!("{}: not JSON (line {} column {})", args.event.display(), e.line(), e.column()),
    };
    if let Err(e) = serde_json::from_str::<Event>(&text) {
        let answer = match edgegate_handler::origin_response_of(&event) {
            Some(_) => "the function passes the origin's response on unchanged",
            None => "the function answers 500 internal",
        };
        // Position only: the message could quote event values, a token among them.
        eprintln!(
            "edgegate: note: {} is not an event the function can read (line {} column {}); {answer}",
            args.event.display(),
            e.line(),
            e.column()
        );
    }
    let now = now_or_clock(args.now)?;
    let handled = edgegate_handler::handle_event_value(edgegate_handler::GateState::Ready(&loaded.gate), &event, now);
    if let Some(line) = &handled.log {
        eprintln!("{line}");
    }
    let rendered = match out {
        Output::Text => serde_json::to_string_pretty(&handled.result)?,
        Output::Json => serde_json::to_string(&handled.result)?,
    };
    outln!("{rendered}")?;
    // 1 whenever the function did not do its job as designed: a generated response, or an
    // origin response passed on unchanged because of a fault (that one writes a log line).
    Ok(match (&handled.result, &handled.log) {
        (HandlerResult::Forward(_), _) | (HandlerResult::OriginResponse(_), None) => Status::Ok,
        (HandlerResult::Respond(_) | HandlerResult::OriginResponse(_) | HandlerResult::Unchanged(_), _) => {
            Status::Denied
        }
    })
}

/// The event file, or standard input for `-`.
fn read_event(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("cannot read the event from standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read event {}", path.display()))
}
