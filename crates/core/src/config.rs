//! The configuration model (SPEC §6) and its validation into a ready [`Gate`](crate::Gate).
//!
//! This module only *models* the settings (serde derive works without `std`). Reading
//! `edgegate.toml`, resolving `secret_env` from the environment and reading
//! `edgegate.json` are I/O and live in the callers (`deploy/`, `crates/handler`).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

/// A key's secret, hex text. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps hex text.
    pub fn new(hex: impl Into<String>) -> Self {
        Secret(hex.into())
    }
    /// The hex text, for writing `edgegate.json`. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // The hex text is the key. Memory freed in the WASM module's arena is handed out
        // again unwiped, so it is cleared here (volatile writes: not optimised away).
        let mut bytes = core::mem::take(&mut self.0).into_bytes();
        wipe(&mut bytes);
    }
}

/// Clears key material before its memory is released.
pub(crate) fn wipe(bytes: &mut [u8]) {
    use hmac::digest::zeroize::Zeroize as _;
    bytes.zeroize();
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// One `[[keys]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// Names the key in logs and rotation notes.
    pub id: String,
    /// Hex secret (at least 16 bytes once decoded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    /// Environment variable holding the hex secret; the loader replaces it with `secret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
}

/// `edgegate.toml` / `edgegate.json` (SPEC §6). Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Name of the path segment, query parameter and cookie holding the token.
    #[serde(default = "default_token_name")]
    pub token_name: String,
    /// Clock skew tolerated on `st` and `exp`.
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
    /// Optional EdgeAuth salt appended to the HMAC input.
    #[serde(default)]
    pub salt: String,
    /// Canonical path prefixes served without a token.
    #[serde(default)]
    pub public_prefixes: Vec<String>,
    /// Methods allowed through; others get 405.
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
    /// Look for the token in the first path segment.
    #[serde(default = "yes")]
    pub path_tokens: bool,
    /// Look for the token in the `cookie` header.
    #[serde(default = "yes")]
    pub cookie_tokens: bool,
    /// Forward `+` as `%2B` (S3 reads a bare `+` as a space).
    #[serde(default = "yes")]
    pub s3_plus_fix: bool,
    /// What `%2F` in a path means (SPEC §3 step 1).
    #[serde(default)]
    pub encoded_slash: EncodedSlash,
    /// Query parameters passed on to the origin; every other one is removed (SPEC §4).
    #[serde(default)]
    pub forward_query: Vec<String>,
    /// Cache classes (SPEC §9).
    #[serde(default)]
    pub cache: CacheConfig,
    /// First key signs; every key verifies.
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
}

/// What `%2F` in a path means (SPEC §3 step 1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EncodedSlash {
    /// `%2F` is `/`, as S3 reads it (and as npm sends scoped names).
    #[default]
    Decode,
    /// `%2F` is refused (`bad-path`), for origins that tell the two apart.
    Reject,
}

/// `[cache]` (SPEC §6, §9): the `Cache-Control` of each class, and rules that override the
/// built-in table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// `Cache-Control` of package files.
    #[serde(default = "default_package_cache")]
    pub package: String,
    /// `Cache-Control` of metadata (and of anything the table does not know).
    #[serde(default = "default_metadata_cache")]
    pub metadata: String,
    /// Checked in order before the built-in table; the first match wins.
    #[serde(default)]
    pub rules: Vec<CacheRule>,
}

impl CacheConfig {
    /// Checks the section on its own (`edgegate reindex` reads only `[cache]`).
    pub fn check(&self) -> Result<(), ConfigError> {
        for (field, value) in [("cache.package", &self.package), ("cache.metadata", &self.metadata)] {
            // A header value: CloudFront and S3 refuse control characters, and an empty
            // value would leave the object's caching to CloudFront's defaults.
            if value.trim().is_empty() || value.bytes().any(|b| b < b' ' || b == 0x7F) {
                return Err(ConfigError::new(
                    field,
                    "must be a non-empty Cache-Control value without control characters",
                ));
            }
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if !rule.pattern.starts_with('/') {
                return Err(ConfigError::new(format!("cache.rules[{i}].pattern"), "must start with '/'"));
            }
        }
        Ok(())
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig { package: default_package_cache(), metadata: default_metadata_cache(), rules: Vec::new() }
    }
}

/// One `[[cache.rules]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheRule {
    /// The ACL glob of SPEC §2 (`*`, `?`), over the canonical path.
    pub pattern: String,
    /// The class of every path the pattern matches.
    pub class: CacheClass,
}

/// The two cache classes of SPEC §9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheClass {
    /// Content-identifying files, never rewritten under the same name: cached for long.
    Package,
    /// Everything else: never cached.
    Metadata,
}

impl CacheClass {
    /// Lower-case name, as in the configuration and reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            CacheClass::Package => "package",
            CacheClass::Metadata => "metadata",
        }
    }
}

fn default_package_cache() -> String {
    "public, max-age=31536000, immutable".to_string()
}
fn default_metadata_cache() -> String {
    "no-cache, no-store, max-age=0".to_string()
}

fn default_token_name() -> String {
    "__token__".to_string()
}
fn default_leeway() -> u64 {
    30
}
fn default_methods() -> Vec<String> {
    vec!["GET".to_string(), "HEAD".to_string()]
}
fn yes() -> bool {
    true
}

impl Default for Config {
    fn default() -> Self {
        Config {
            token_name: default_token_name(),
            leeway_seconds: default_leeway(),
            salt: String::new(),
            public_prefixes: Vec::new(),
            methods: default_methods(),
            path_tokens: true,
            cookie_tokens: true,
            s3_plus_fix: true,
            encoded_slash: EncodedSlash::Decode,
            forward_query: Vec::new(),
            cache: CacheConfig::default(),
            keys: Vec::new(),
        }
    }
}

/// An invalid configuration: which field, and what is wrong with it. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// Dotted path of the field, e.g. `keys[1].secret`.
    pub field: String,
    /// What is wrong, in words.
    pub problem: String,
}

impl ConfigError {
    pub(crate) fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError { field: field.into(), problem: problem.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

impl core::error::Error for ConfigError {}

/// True when a deserializer's error message names only field names, never a value, and
/// may therefore be shown. Other messages (`invalid type: integer `1234…``) can quote a
/// secret and must be reduced to their position by the caller.
pub fn message_names_only_fields(message: &str) -> bool {
    ["unknown field", "missing field", "duplicate field", "duplicate key"].iter().any(|p| message.starts_with(p))
}

/// Longest leeway accepted: a day of skew is a misconfiguration, not a clock problem.
pub const MAX_LEEWAY_SECONDS: u64 = 86_400;
/// Shortest key, in bytes, once hex-decoded (SPEC §2).
pub const MIN_KEY_BYTES: usize = 16;

pub(crate) fn decode_secret(field: &str, secret: &Secret) -> Result<Vec<u8>, ConfigError> {
    let hex = secret.expose().trim();
    if !hex.len().is_multiple_of(2) {
        return Err(ConfigError::new(field, "odd number of hex digits"));
    }
    let mut out = Vec::with_capacity(hex.len() / 2);
    for pair in hex.as_bytes().chunks_exact(2) {
        match (crate::hex::value(pair[0]), crate::hex::value(pair[1])) {
            (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
            _ => {
                wipe(&mut out);
                return Err(ConfigError::new(field, "not hex"));
            }
        }
    }
    if out.len() < MIN_KEY_BYTES {
        wipe(&mut out);
        return Err(ConfigError::new(
            field,
            format!("{} bytes; at least {MIN_KEY_BYTES} bytes (32 hex digits) required", out.len()),
        ));
    }
    Ok(out)
}

impl Config {
    /// Checks every rule except key decoding, naming the first offending field.
    pub(crate) fn check_fields(&self) -> Result<(), ConfigError> {
        let name = &self.token_name;
        if name.is_empty() {
            return Err(ConfigError::new("token_name", "empty"));
        }
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.') {
            return Err(ConfigError::new("token_name", "only ASCII letters, digits, '_', '-' and '.' are allowed"));
        }
        if self.leeway_seconds > MAX_LEEWAY_SECONDS {
            return Err(ConfigError::new("leeway_seconds", format!("more than {MAX_LEEWAY_SECONDS}")));
        }
        if self.salt.contains('~') {
            return Err(ConfigError::new("salt", "contains the field delimiter '~'"));
        }
        for (i, prefix) in self.public_prefixes.iter().enumerate() {
            if !prefix.starts_with('/') {
                return Err(ConfigError::new(format!("public_prefixes[{i}]"), "must start with '/'"));
            }
        }
        if self.methods.is_empty() {
            return Err(ConfigError::new("methods", "empty: every request would be refused"));
        }
        for (i, method) in self.methods.iter().enumerate() {
            if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(ConfigError::new(format!("methods[{i}]"), "must be an upper-case HTTP method"));
            }
        }
        for (i, name) in self.forward_query.iter().enumerate() {
            if name.is_empty() || name.bytes().any(|b| matches!(b, b'&' | b'=' | b'%' | b'#') || b <= b' ' || b >= 0x7F)
            {
                return Err(ConfigError::new(format!("forward_query[{i}]"), "not a plain query parameter name"));
            }
            if *name == self.token_name {
                return Err(ConfigError::new(format!("forward_query[{i}]"), "the token is never forwarded"));
            }
        }
        self.cache.check()?;
        if self.keys.is_empty() {
            return Err(ConfigError::new("keys", "no key configured"));
        }
        for (i, key) in self.keys.iter().enumerate() {
            if key.id.is_empty() {
                return Err(ConfigError::new(format!("keys[{i}].id"), "empty"));
            }
            if self.keys[..i].iter().any(|k| k.id == key.id) {
                return Err(ConfigError::new(format!("keys[{i}].id"), format!("duplicate key id {:?}", key.id)));
            }
            match (&key.secret, &key.secret_env) {
                (Some(_), Some(_)) => {
                    return Err(ConfigError::new(format!("keys[{i}]"), "both secret and secret_env given"));
                }
                (None, Some(var)) => {
                    return Err(ConfigError::new(
                        format!("keys[{i}].secret_env"),
                        format!("environment variable {var} was not resolved"),
                    ));
                }
                (None, None) => {
                    return Err(ConfigError::new(format!("keys[{i}].secret"), "missing"));
                }
                (Some(_), None) => {}
            }
        }
        Ok(())
    }
}
