//! Builds the Lambda@Edge WebAssembly module that `edgegate bundle` embeds, so the CLI binary
//! alone can produce a deployment package (no separate `make wasm` step to forget).
//!
//! A nested `cargo build` of `edgegate-handler` for `wasm32-unknown-unknown` with the `wasm`
//! profile, in its own target directory: the outer cargo holds the lock on its own target
//! directory while this script runs, so sharing it would deadlock.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const TARGET: &str = "wasm32-unknown-unknown";

fn main() -> ExitCode {
    let Some(manifest_dir) = env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) else {
        return fail("CARGO_MANIFEST_DIR is not set (run through cargo)");
    };
    let Some(out_dir) = env::var_os("OUT_DIR").map(PathBuf::from) else {
        return fail("OUT_DIR is not set (run through cargo)");
    };
    let Some(root) = manifest_dir.parent().map(Path::to_path_buf) else {
        return fail("deploy/ has no parent directory");
    };

    // Everything the module is built from. A directory is scanned recursively by cargo.
    for path in [
        "crates/core/src",
        "crates/core/Cargo.toml",
        "crates/handler/src",
        "crates/handler/Cargo.toml",
        "crates/handler/js/index.mjs",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }

    // `cargo check`, clippy and rust-analyzer need no module: with EDGEGATE_SKIP_WASM=1 an
    // empty one is embedded, which index.mjs cannot load (every request then answers 500
    // `internal`) and which `edgegate bundle` refuses to package.
    println!("cargo:rerun-if-env-changed=EDGEGATE_SKIP_WASM");
    if env::var_os("EDGEGATE_SKIP_WASM").is_some_and(|v| v == "1") {
        println!("cargo:warning=EDGEGATE_SKIP_WASM=1: no wasm module embedded; `edgegate bundle` will refuse to run");
        return match std::fs::write(out_dir.join("edgegate.wasm"), b"") {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => fail(&format!("cannot write the empty module: {error}")),
        };
    }

    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    if !target_installed(&rustc) {
        return fail(&format!("the {TARGET} target is not installed; run: rustup target add {TARGET}"));
    }

    let target_dir = wasm_target_dir(&root, &out_dir);
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&root)
        .args(["build", "--locked", "-p", "edgegate-handler", "--lib", "--target", TARGET, "--profile", "wasm"])
        .arg("--target-dir")
        .arg(&target_dir);
    for (name, _) in env::vars_os() {
        if leaks_into_nested_build(&name) {
            command.env_remove(&name);
        }
    }
    // Same module bytes whatever the machine's CARGO_HOME or checkout path: panic locations
    // inside dependencies otherwise embed them. And WebAssembly SIMD, so that the block
    // searches of `edgegate_core::scan` become vector code (Cargo.toml's `[profile.wasm]`
    // says why). tests/e2e/45-repro.sh passes the same flags.
    let mut flags =
        vec![format!("--remap-path-prefix={}=/edgegate", root.display()), "-Ctarget-feature=+simd128".to_string()];
    if let Some(home) = cargo_home() {
        flags.push(format!("--remap-path-prefix={}=/cargo", home.display()));
    }
    command.env("CARGO_ENCODED_RUSTFLAGS", flags.join("\u{1f}"));

    let output = match command.output() {
        Ok(output) => output,
        Err(error) => return fail(&format!("cannot run cargo for the wasm module: {error}")),
    };
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        return fail(&format!("building the wasm module failed ({})", output.status));
    }

    // Copied so that a concurrent build rewriting the shared target directory cannot change
    // the bytes under this build's `include_bytes!`.
    let built = target_dir.join(TARGET).join("wasm").join("edgegate_handler.wasm");
    if let Err(error) = std::fs::copy(&built, out_dir.join("edgegate.wasm")) {
        return fail(&format!("cannot copy {}: {error}", built.display()));
    }
    ExitCode::SUCCESS
}

fn fail(message: &str) -> ExitCode {
    eprintln!("edgegate build: error: {message}");
    ExitCode::FAILURE
}

/// True when the standard library for the wasm target is present in rustc's sysroot.
fn target_installed(rustc: &OsString) -> bool {
    let Ok(output) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&output.stdout);
    Path::new(sysroot.trim()).join("lib").join("rustlib").join(TARGET).join("lib").is_dir()
}

/// `<target>/edgegate-wasm`, beside the outer build's profile directories, so every profile
/// (debug, release, clippy) shares one wasm build. OUT_DIR is
/// `<target>[/<triple>]/<profile>/build/<package>-<hash>/out`.
fn wasm_target_dir(root: &Path, out_dir: &Path) -> PathBuf {
    let profile_dir = out_dir.ancestors().find(|p| p.file_name().is_some_and(|n| n == "build")).and_then(Path::parent);
    match profile_dir.and_then(Path::parent) {
        Some(target) => target.join("edgegate-wasm"),
        None => root.join("target").join("edgegate-wasm"),
    }
}

/// Variables cargo sets for this build script (or the user set for the outer build) that
/// would change the nested build: its target, flags, wrappers and profile overrides.
/// Registry, network, terminal settings and the jobserver (`CARGO_MAKEFLAGS`, so the
/// nested build shares the outer build's job limit) are kept.
fn leaks_into_nested_build(name: &OsString) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    const KEEP: [&str; 6] =
        ["CARGO_HOME", "CARGO_MAKEFLAGS", "CARGO_NET_", "CARGO_HTTP_", "CARGO_REGISTR", "CARGO_TERM_"];
    if name.starts_with("CARGO_") {
        return !KEEP.iter().any(|keep| name.starts_with(keep));
    }
    name.starts_with("__CARGO")
        || name.starts_with("DEP_")
        || matches!(
            name,
            "CARGO"
                | "RUSTFLAGS"
                | "RUSTDOCFLAGS"
                | "RUSTC_WORKSPACE_WRAPPER"
                | "TARGET"
                | "HOST"
                | "OUT_DIR"
                | "OPT_LEVEL"
                | "PROFILE"
                | "DEBUG"
                | "NUM_JOBS"
                | "RUSTC_LINKER"
        )
}

fn cargo_home() -> Option<PathBuf> {
    env::var_os("CARGO_HOME").map(PathBuf::from).or_else(|| env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
}
