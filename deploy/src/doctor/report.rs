//! What `doctor` reports: findings with stable ids (SPEC §10), as text for a terminal and as
//! one JSON document (`--output json`, shape documented in docs/deploy.md).

use std::fmt::Write as _;

use serde::Serialize;

/// The finding ids of SPEC §10. They are part of the JSON output and stay stable across
/// releases: scripts match on them.
pub const IDS: [&str; 9] = [
    BEHAVIOUR_UNGATED,
    VERSION_STALE,
    ORIGIN_OPEN,
    ORIGIN_OAI,
    MIN_TTL,
    METADATA_CACHEABLE,
    QUERY_TO_ORIGIN,
    HTTP_ALLOWED,
    MISSING_IS_403,
];

pub const BEHAVIOUR_UNGATED: &str = "behaviour-ungated";
pub const VERSION_STALE: &str = "version-stale";
pub const ORIGIN_OPEN: &str = "origin-open";
pub const ORIGIN_OAI: &str = "origin-oai";
pub const MIN_TTL: &str = "min-ttl";
pub const METADATA_CACHEABLE: &str = "metadata-cacheable";
pub const QUERY_TO_ORIGIN: &str = "query-to-origin";
pub const HTTP_ALLOWED: &str = "http-allowed";
pub const MISSING_IS_403: &str = "missing-is-403";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warn,
}

/// What a finding's resource is; shown in the text report only, the JSON keeps the bare
/// name so scripts need not parse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Behaviour,
    Origin,
    Bucket,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Behaviour => "behaviour",
            Kind::Origin => "origin",
            Kind::Bucket => "bucket",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// One of [`IDS`].
    pub id: &'static str,
    pub severity: Severity,
    /// A behaviour's path pattern (or `default`), an origin id, or a bucket name.
    pub resource: String,
    /// One sentence: what is wrong and what it lets happen.
    pub why: String,
    /// The `edgegate` command that fixes it, or the setting and its value.
    pub fix: String,
    #[serde(skip)]
    pub kind: Kind,
}

/// The whole report (`--output json` prints exactly this).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub distribution_id: String,
    pub findings: Vec<Finding>,
    pub errors: usize,
    pub warnings: usize,
    /// What was looked at, for the text report's first lines.
    #[serde(skip)]
    pub scope: Scope,
}

/// What doctor read, so a clean report says what it is clean of.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub domain_name: String,
    pub function_name: String,
    pub newest_version: Option<u64>,
    pub behaviours: usize,
    pub origins: usize,
    pub buckets: usize,
    pub sampled_objects: usize,
}

impl Report {
    pub fn new(distribution_id: &str, mut findings: Vec<Finding>, scope: Scope) -> Report {
        // Errors first; within a severity the order of SPEC §10's table, then the
        // distribution's own order (kept by the stable sort).
        let rank = |id: &str| IDS.iter().position(|i| *i == id).unwrap_or(IDS.len());
        findings.sort_by_key(|f| (f.severity, rank(f.id)));
        let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
        let warnings = findings.len() - errors;
        Report { distribution_id: distribution_id.to_owned(), findings, errors, warnings, scope }
    }

    /// The terminal report: findings grouped by severity, one block each, then the count.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let scope = &self.scope;
        let domain = if scope.domain_name.is_empty() { String::new() } else { format!(" ({})", scope.domain_name) };
        let _ = writeln!(s, "distribution {}{domain}", self.distribution_id);
        let newest = match scope.newest_version {
            Some(v) => format!("newest version {v}"),
            None => "no published version".to_owned(),
        };
        let _ = writeln!(s, "function     {} ({newest})", scope.function_name);
        let _ = writeln!(
            s,
            "checked      {}, {}, {}, {}",
            plural(scope.behaviours, "cache behaviour"),
            plural(scope.origins, "origin"),
            plural(scope.buckets, "bucket"),
            plural(scope.sampled_objects, "sampled metadata object"),
        );
        for (severity, title) in [(Severity::Error, "ERRORS"), (Severity::Warn, "WARNINGS")] {
            let group: Vec<&Finding> = self.findings.iter().filter(|f| f.severity == severity).collect();
            if group.is_empty() {
                continue;
            }
            let _ = writeln!(s, "\n{title}");
            for f in group {
                let _ = writeln!(s, "\n  {}  {} {}", f.id, f.kind.label(), f.resource);
                write_wrapped(&mut s, "why", &f.why);
                // A command is copied as one line (alternatives one per line); prose is wrapped.
                if f.fix.starts_with("edgegate ") {
                    for (i, command) in f.fix.split("; or ").enumerate() {
                        let head = if i == 0 { "fix" } else { "or" };
                        let _ = writeln!(s, "    {head:<3}  {command}");
                    }
                } else {
                    write_wrapped(&mut s, "fix", &f.fix);
                }
            }
        }
        if self.findings.is_empty() {
            let _ =
                writeln!(s, "\nno findings: every behaviour is gated and nothing reaches the bucket around the gate");
        }
        let _ = writeln!(s, "\n{}, {}", plural(self.errors, "error"), plural(self.warnings, "warning"));
        s
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

/// Width of a report line; the label column takes 9 of it.
const WIDTH: usize = 100;

fn write_wrapped(s: &mut String, label: &str, text: &str) {
    let mut line = String::new();
    let mut first = true;
    let mut flush = |line: &mut String, first: &mut bool| {
        let head = if *first { label } else { "" };
        let _ = writeln!(s, "    {head:<3}  {line}");
        line.clear();
        *first = false;
    };
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !line.is_empty() && line.len() + 1 + word.len() > WIDTH - 9 {
            flush(&mut line, &mut first);
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || first {
        flush(&mut line, &mut first);
    }
}
