//! Reading `edgegate.toml` (or an already-resolved `edgegate.json`) into the core model,
//! resolving `secret_env` from the environment. This is the I/O half of SPEC §6; every
//! rule is checked by `edgegate_core::Gate::new`.

use std::path::Path;

use anyhow::{Context as _, bail};
use edgegate_core::{Config, Gate, Secret};

/// A configuration read from disk, with its secrets resolved and validated.
#[derive(Debug)]
pub struct Loaded {
    /// The resolved model (secrets inline, no `secret_env`): what `edgegate.json` holds.
    pub config: Config,
    /// The validated, keyed gate.
    pub gate: Gate,
}

/// Parses configuration text; `.json` files as JSON, anything else as TOML.
pub fn parse(text: &str, path: &Path) -> anyhow::Result<Config> {
    let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        serde_json::from_str(text).with_context(|| format!("{}: invalid configuration", path.display()))
    } else {
        toml::from_str(text).with_context(|| format!("{}: invalid configuration", path.display()))
    }
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
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read configuration {}", path.display()))?;
    let mut config = parse(&text, path)?;
    resolve_secrets(&mut config, |var| std::env::var(var).ok())?;
    let gate = Gate::new(&config).with_context(|| format!("{}: invalid configuration", path.display()))?;
    Ok(Loaded { config, gate })
}
