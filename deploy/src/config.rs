//! Reading `edgegate.toml` (or an already-resolved `edgegate.json`) into the core model,
//! resolving `secret_env` from the environment. This is the I/O half of SPEC §6; every
//! rule is checked by `edgegate_core::Gate::new`.

use std::path::Path;

use anyhow::{Context as _, bail};
use edgegate_core::config::message_names_only_fields;
use edgegate_core::{CacheConfig, Config, Gate, Secret};

/// A configuration read from disk, with its secrets resolved and validated.
#[derive(Debug)]
pub struct Loaded {
    /// The resolved model (secrets inline, no `secret_env`): what `edgegate.json` holds.
    pub config: Config,
    /// The validated, keyed gate.
    pub gate: Gate,
}

/// Parses configuration text; `.json` files as JSON, anything else as TOML.
///
/// Parser messages can quote the offending value or source line, and for a secret written
/// without quotes that is the secret itself; so only messages that name nothing but field
/// names are passed on, everything else is reduced to its position.
pub fn parse(text: &str, path: &Path) -> anyhow::Result<Config> {
    let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        // The same reading, and the same secret-safe errors, as the function's cold start.
        return edgegate_handler::config_from_json(text)
            .map_err(|e| anyhow::anyhow!("{}: invalid configuration: {e}", path.display()));
    }
    let e = match toml::from_str(text) {
        Ok(config) => return Ok(config),
        Err(e) => e,
    };
    let offset = e.span().map_or(0, |span| span.start).min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = offset - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    let message = e.message();
    let what = if message_names_only_fields(message) {
        message
    } else {
        "invalid syntax, or a field has the wrong type or value"
    };
    bail!("{}: invalid configuration at line {line} column {column}: {what}", path.display())
}

/// Replaces each `secret_env` by the variable's value, naming the key and variable on error.
pub fn resolve_secrets(config: &mut Config, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
    for (i, key) in config.keys.iter_mut().enumerate() {
        if let (None, Some(var)) = (&key.secret, &key.secret_env) {
            let Some(value) = env(var) else {
                bail!("keys[{i}].secret_env: environment variable {var} is not set");
            };
            key.secret = Some(Secret::new(value.trim()));
            key.secret_env = None;
        }
    }
    Ok(())
}

/// Loads, resolves and validates a configuration file.
pub fn load(path: &Path) -> anyhow::Result<Loaded> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read configuration {}", path.display()))?;
    let mut config = parse(&text, path)?;
    resolve_secrets(&mut config, |var| std::env::var(var).ok())?;
    let gate = Gate::new(&config).with_context(|| format!("{}: invalid configuration", path.display()))?;
    Ok(Loaded { config, gate })
}

/// Reads only the `[cache]` section of a configuration (SPEC §6, §9): `reindex` writes
/// S3 metadata and needs no keys, so unresolved `secret_env` variables are no error here.
pub fn load_cache(path: &Path) -> anyhow::Result<CacheConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read configuration {}", path.display()))?;
    let config = parse(&text, path)?;
    config.cache.check().with_context(|| format!("{}: invalid configuration", path.display()))?;
    Ok(config.cache)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET_DIGITS: &str = "314159265358979323846264338327950288419716939937510582097494459";

    #[test]
    fn parse_errors_never_quote_a_secret() {
        let cases = [
            ("edgegate.toml", format!("[[keys]]\nid = \"a\"\nsecret = {SECRET_DIGITS}\n")),
            ("edgegate.toml", format!("[[keys]]\nid = \"a\"\nsecret = \"{SECRET_DIGITS}\n")),
            ("edgegate.json", format!("{{\"keys\":[{{\"id\":\"a\",\"secret\":{SECRET_DIGITS}}}]}}")),
        ];
        for (name, text) in cases {
            let error = parse(&text, Path::new(name)).expect_err("invalid");
            let shown = format!("{error:#}");
            assert!(!shown.contains("31415926"), "{name}: error quotes the secret: {shown}");
            assert!(shown.contains("line 3") || shown.contains("line 1"), "{name}: no position: {shown}");
        }
    }

    #[test]
    fn field_name_errors_keep_their_text() {
        let error = parse("tokne_name = \"x\"\n", Path::new("edgegate.toml")).expect_err("unknown field");
        assert!(format!("{error:#}").contains("tokne_name"), "{error:#}");
    }

    #[test]
    fn secret_env_is_resolved_or_named() {
        let mut config: Config = toml::from_str("[[keys]]\nid = \"a\"\nsecret_env = \"K\"\n").expect("toml");
        let error = resolve_secrets(&mut config.clone(), |_| None).expect_err("unset");
        assert!(error.to_string().contains("keys[0].secret_env") && error.to_string().contains('K'), "{error}");
        resolve_secrets(&mut config, |_| Some("00112233445566778899aabbccddeeff".into())).expect("resolved");
        assert!(config.keys[0].secret_env.is_none());
        Gate::new(&config).expect("valid once resolved");
    }
}
