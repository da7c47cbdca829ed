//! Cold start: `edgegate.json` into a [`Gate`], or a [`LoadError`] that names the field
//! and never a secret (it reaches the cold-start log line of every runtime).

use alloc::string::String;
use core::fmt;

use edgegate_core::{Config, ConfigError, Gate};

/// Why `edgegate.json` did not give a [`Gate`]. Display names the field or the position,
/// never a value: a secret may be the value that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadError {
    /// Not JSON, or a value of the wrong type. serde's own message is not kept because it
    /// may quote the offending value (`invalid type: integer `1234…``).
    Json {
        /// What kind of problem.
        problem: JsonProblem,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
    },
    /// An unknown, missing or repeated field: serde's message, kept because it names only
    /// field names (checked by `edgegate_core::config::message_names_only_fields`).
    Field(String),
    /// Well-formed, but a value breaks SPEC §6 (short key, duplicate id, ...).
    Config(ConfigError),
    /// The file is not UTF-8.
    NotUtf8,
}

/// The kind of a [`LoadError::Json`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JsonProblem {
    /// A field has the wrong type or value.
    WrongValue,
    /// Not valid JSON.
    Syntax,
    /// The text ends too early.
    Truncated,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Json { problem, line, column } => {
                let kind = match problem {
                    JsonProblem::WrongValue => "a field has the wrong type or value",
                    JsonProblem::Syntax => "not valid JSON",
                    JsonProblem::Truncated => "truncated JSON",
                };
                write!(f, "edgegate.json: {kind} at line {line} column {column}")
            }
            LoadError::Field(message) => f.write_str(message),
            LoadError::Config(error) => write!(f, "{error}"),
            LoadError::NotUtf8 => f.write_str("edgegate.json is not UTF-8"),
        }
    }
}

impl core::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            LoadError::Config(error) => Some(error),
            _ => None,
        }
    }
}

impl From<ConfigError> for LoadError {
    fn from(error: ConfigError) -> Self {
        LoadError::Config(error)
    }
}

/// Parses and validates `edgegate.json`.
pub fn gate_from_json(json: &str) -> Result<Gate, LoadError> {
    Ok(Gate::new(&config_from_json(json)?)?)
}

/// Parses `edgegate.json` (or any JSON configuration) into the model, with the same
/// secret-safe errors; `edgegate` reads `.json` configurations through this too.
pub fn config_from_json(json: &str) -> Result<Config, LoadError> {
    serde_json::from_str(json).map_err(|e| describe_json_error(&e))
}

/// [`gate_from_json`] over bytes, for runtimes that read the file as bytes.
pub fn gate_from_json_bytes(json: &[u8]) -> Result<Gate, LoadError> {
    gate_from_json(core::str::from_utf8(json).map_err(|_| LoadError::NotUtf8)?)
}

/// Only messages that name nothing but field names are kept; every other error is reduced
/// to its kind and position.
fn describe_json_error(error: &serde_json::Error) -> LoadError {
    use serde_json::error::Category;
    let problem = match error.classify() {
        Category::Data => {
            let message = alloc::string::ToString::to_string(error);
            if edgegate_core::config::message_names_only_fields(&message) {
                return LoadError::Field(message);
            }
            JsonProblem::WrongValue
        }
        Category::Syntax => JsonProblem::Syntax,
        // `from_str` does no I/O; an I/O category cannot occur, and "truncated" is the
        // nearest honest description if a future serde_json reports one.
        Category::Eof | Category::Io => JsonProblem::Truncated,
    };
    LoadError::Json { problem, line: error.line(), column: error.column() }
}
