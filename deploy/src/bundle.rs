//! `edgegate bundle` (SPEC §7): the deterministic Lambda@Edge zip.
//!
//! The module and its loader are compiled into this binary (`build.rs`), so a bundle depends
//! only on the binary and the configuration: same inputs, same bytes, same `CodeSha256`,
//! which is what lets `publish` recognise unchanged code.

use clap::Args;
use std::io::{Cursor, Write as _};
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use edgegate_core::{Config, Gate};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use crate::output::{Output, Status, outln, print_json};

#[derive(Debug, Args)]
pub struct BundleArgs {
    #[arg(long)]
    pub config: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
}

/// `edgegate-handler` built for wasm32 with the `wasm` profile (see `build.rs`).
pub const WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/edgegate.wasm"));
/// The Node.js ES module Lambda@Edge runs; it loads [`WASM`] and `edgegate.json`.
pub const INDEX_MJS: &[u8] = include_bytes!("../../crates/handler/js/index.mjs");

/// Lambda@Edge's limit for a viewer-request function's zip.
pub const MAX_BYTES: usize = 1024 * 1024;
/// Our own goal (SPEC §1): warn above it.
pub const WARN_BYTES: usize = 150 * 1024;
/// zlib's best level: the bundle is built rarely and every byte is cold-start I/O.
const DEFLATE_LEVEL: i64 = 9;

/// A built deployment package.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The zip bytes (`index.mjs`, `edgegate.wasm`, `edgegate.json`).
    pub zip: Vec<u8>,
    /// Base64 SHA-256 of `zip`, as Lambda reports `CodeSha256`.
    pub code_sha256: String,
}

/// Builds the deployment zip for a resolved configuration. Same inputs, same bytes.
///
/// The configuration is validated again here, so that an invalid one is an error now and
/// never a function answering `misconfigured` to every request.
pub fn build(config: &Config) -> anyhow::Result<Bundle> {
    if WASM.is_empty() {
        bail!(
            "this edgegate was built with EDGEGATE_SKIP_WASM=1 and holds no wasm module; rebuild without it to bundle"
        );
    }
    Gate::new(config).context("invalid configuration")?;
    let mut json = serde_json::to_vec_pretty(config).context("serializing edgegate.json")?;
    json.push(b'\n');
    package(&[("index.mjs", INDEX_MJS), ("edgegate.wasm", WASM), ("edgegate.json", &json)])
}

/// Zips `files` and refuses a package Lambda@Edge would refuse.
fn package(files: &[(&str, &[u8])]) -> anyhow::Result<Bundle> {
    let zip = zip_files(files)?;
    if zip.len() > MAX_BYTES {
        bail!("bundle is {} bytes: above Lambda@Edge's {MAX_BYTES}-byte limit for viewer-request functions", zip.len());
    }
    let code_sha256 = code_sha256(&zip);
    Ok(Bundle { zip, code_sha256 })
}

/// Base64 of the SHA-256 of the zip, as Lambda reports `CodeSha256`.
pub fn code_sha256(zip: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(zip))
}

/// A zip of `files` in this order, with nothing taken from the environment: fixed
/// timestamp (1980-01-01 00:00, the zip epoch), Unix mode 0644, a fixed deflate level.
fn zip_files(files: &[(&str, &[u8])]) -> anyhow::Result<Vec<u8>> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(DEFLATE_LEVEL))
        .last_modified_time(DateTime::DEFAULT)
        .system(System::Unix)
        .unix_permissions(0o644);
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in files {
        writer.start_file(*name, options).with_context(|| format!("zip: adding {name}"))?;
        writer.write_all(bytes).with_context(|| format!("zip: writing {name}"))?;
    }
    Ok(writer.finish().context("zip: finishing")?.into_inner())
}

#[derive(Serialize)]
struct Report<'a> {
    path: &'a str,
    size: usize,
    code_sha256: &'a str,
}

/// `edgegate bundle --config F --out FILE.zip`.
pub fn run(args: &BundleArgs, out: Output) -> anyhow::Result<Status> {
    let loaded = crate::config::load(&args.config)?;
    let bundle = build(&loaded.config)?;
    std::fs::write(&args.out, &bundle.zip).with_context(|| format!("cannot write {}", args.out.display()))?;
    let size = bundle.zip.len();
    if size > WARN_BYTES {
        eprintln!(
            "edgegate: warning: bundle is {size} bytes, above the {WARN_BYTES}-byte goal (Lambda@Edge allows {MAX_BYTES})"
        );
    }
    let path = args.out.display().to_string();
    match out {
        Output::Text => {
            outln!("{path}: {size} bytes")?;
            outln!("CodeSha256: {}", bundle.code_sha256)?;
        }
        Output::Json => print_json(&Report { path: &path, size, code_sha256: &bundle.code_sha256 })?,
    }
    Ok(Status::Ok)
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::path::Path;

    use super::*;

    fn fixture_config() -> Config {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/config/edgegate.toml");
        crate::config::load(&path).expect("fixture configuration loads").config
    }

    #[test]
    fn same_config_same_bytes() {
        let config = fixture_config();
        let first = build(&config).expect("bundle builds");
        let second = build(&config).expect("bundle builds");
        assert_eq!(first.zip, second.zip);
        assert_eq!(first.code_sha256, second.code_sha256);
        assert_eq!(first.code_sha256, code_sha256(&first.zip));
        assert_eq!(first.code_sha256.len(), 44, "base64 of 32 bytes");
    }

    #[test]
    fn entries_are_fixed_in_order_time_and_mode() {
        let config = fixture_config();
        let bundle = build(&config).expect("bundle builds");
        let mut archive = zip::ZipArchive::new(Cursor::new(bundle.zip)).expect("readable zip");
        let names: Vec<String> = (0..archive.len())
            .map(|i| archive.by_index(i).expect("entry").name().expect("UTF-8 name").to_string())
            .collect();
        assert_eq!(names, ["index.mjs", "edgegate.wasm", "edgegate.json"]);
        for (i, name) in names.iter().enumerate() {
            let entry = archive.by_index(i).expect("entry");
            assert_eq!(entry.last_modified(), Some(DateTime::DEFAULT), "{name}");
            assert_eq!(entry.unix_mode(), Some(0o100644), "{name}");
            assert_eq!(entry.compression(), CompressionMethod::Deflated, "{name}");
        }
        let mut json = String::new();
        archive.by_name("edgegate.json").expect("edgegate.json").read_to_string(&mut json).expect("utf-8");
        let embedded: Config = serde_json::from_str(&json).expect("edgegate.json parses");
        assert_eq!(embedded, config, "edgegate.json is the resolved configuration");
        let mut wasm = Vec::new();
        archive.by_name("edgegate.wasm").expect("edgegate.wasm").read_to_end(&mut wasm).expect("read");
        assert_eq!(wasm, WASM);
        assert_eq!(&wasm[..4], b"\0asm", "a WebAssembly module");
    }

    #[test]
    fn resolved_secret_env_is_inlined() {
        let mut config = fixture_config();
        let secret = config.keys[0].secret.take().expect("fixture key has a secret");
        config.keys[0].secret_env = Some("EDGEGATE_TEST_BUNDLE_KEY".into());
        let value = secret.expose().to_string();
        crate::config::resolve_secrets(&mut config, |_| Some(value.clone())).expect("resolves");
        let bundle = build(&config).expect("bundle builds");
        let mut archive = zip::ZipArchive::new(Cursor::new(bundle.zip)).expect("readable zip");
        let mut json = String::new();
        archive.by_name("edgegate.json").expect("edgegate.json").read_to_string(&mut json).expect("utf-8");
        assert!(json.contains(&value), "secret written inline");
        assert!(!json.contains("secret_env"), "no environment reference left: Lambda@Edge has no environment");
    }

    #[test]
    fn invalid_config_is_refused() {
        let mut config = fixture_config();
        config.keys.clear();
        let error = build(&config).expect_err("no key: refused").to_string();
        assert!(error.contains("invalid configuration"), "{error}");
    }

    #[test]
    fn over_one_megabyte_is_refused() {
        // Incompressible filler (xorshift), so the zip itself exceeds the limit.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let filler: Vec<u8> = (0..MAX_BYTES + 1)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let error = package(&[("index.mjs", INDEX_MJS), ("filler", &filler)]).expect_err("too large").to_string();
        assert!(error.contains("limit"), "{error}");
        // Just under the limit passes: the check is on the zip, not on the inputs.
        let fits = package(&[("filler", &filler[..MAX_BYTES - 4096])]).expect("fits");
        assert!(fits.zip.len() <= MAX_BYTES);
    }
}
