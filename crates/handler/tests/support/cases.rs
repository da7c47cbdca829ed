//! The one loader of `fixtures/events/`, shared by every Rust runner of the fixtures: the
//! handler's tests include it as a module, `deploy/tests/handle.rs` and
//! `deploy/tests/serve_fixtures.rs` by path. A case is `<case>.json` (the event) beside
//! `<case>.expected.json` (`{"now", "result", "log_reason"}`); a missing or malformed
//! expectation fails the test, never skips the case.

#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// One fixture.
pub struct Case {
    /// File stem, e.g. `query-token`.
    pub name: String,
    /// The event file.
    pub path: PathBuf,
    /// The event, as text (some runners feed it as it is).
    pub event_text: String,
    /// The Unix time to decide at.
    pub now: u64,
    /// The exact JSON the function returns.
    pub result: Value,
    /// The reason of the one log line, or `None` for no log line.
    pub log_reason: Option<String>,
}

impl Case {
    /// The event, parsed.
    pub fn event(&self) -> Value {
        serde_json::from_str(&self.event_text).unwrap_or_else(|e| panic!("{}: event is not JSON: {e}", self.name))
    }
}

/// The repository root (the directory holding `fixtures/`), from any crate of the workspace.
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join("fixtures/events").is_dir())
        .expect("fixtures/events above the crate")
        .into()
}

/// Every case directly in `dir` (not recursive), sorted by name.
pub fn cases(dir: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let Some(file) = path.file_name().and_then(|n| n.to_str()) else { continue };
        if !file.ends_with(".json") || file.ends_with(".expected.json") || file == "edgegate.json" {
            continue;
        }
        let name = file.trim_end_matches(".json").to_string();
        let expected_path = dir.join(format!("{name}.expected.json"));
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(&expected_path).unwrap_or_else(|e| panic!("{name}: no expectation: {e}")),
        )
        .unwrap_or_else(|e| panic!("{name}: expectation is not JSON: {e}"));
        let keys: BTreeSet<&str> = expected.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(["now", "result", "log_reason"]), "{name}: expectation fields");
        out.push(Case {
            event_text: std::fs::read_to_string(&path).unwrap(),
            now: expected["now"].as_u64().unwrap_or_else(|| panic!("{file}: now")),
            result: expected["result"].clone(),
            log_reason: match &expected["log_reason"] {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                other => panic!("{file}: log_reason {other}"),
            },
            name,
            path,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
