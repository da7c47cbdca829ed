//! The `edgegate` binary as a user runs it: SPEC §7 exit codes on a closed pipe, `sign`'s
//! `!`-joined ACLs and `--for apt`, and its usage errors.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_edgegate");

fn config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/config/edgegate.toml")
}

fn edgegate(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap().trim_end().to_owned()
}

/// Percent-decodes once, as apt does when it reads `sources.list`.
fn decode_once(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// `edgegate ... | head -c0`: the reader is gone before the command writes. SPEC §7 has no
/// code for that, and ripgrep's answer is exit 0, not the 101 of a panic on EPIPE.
#[test]
fn a_closed_pipe_is_no_failure_and_keeps_the_commands_own_status() {
    let config = config();
    let config = config.to_str().unwrap();
    let commands: [&[&str]; 3] = [
        &["generate-secret", "--id", "k"],
        &["sign", "--config", config, "--acl", "/*", "--ttl", "60"],
        &["verify", "--config", config, "--token", "exp=1~hmac=00", "--path", "/a", "--now", "5"],
    ];
    for args in commands {
        let mut child = Command::new(BIN).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        // verify says "no" (exit 1) whether or not anyone reads it; the others succeed.
        let want = if args[0] == "verify" { 1 } else { 0 };
        assert_eq!(output.status.code(), Some(want), "{args:?}: {stderr}");
    }
}

#[test]
fn sign_takes_acls_joined_with_bang_like_edgeauth_libraries() {
    let config = config();
    let config = config.to_str().unwrap();
    let joined = edgegate(&["sign", "--config", config, "--acl", "/a/*!/b/*", "--exp", "2000000000", "--now", "1"]);
    assert!(joined.status.success(), "{}", String::from_utf8_lossy(&joined.stderr));
    let repeated =
        edgegate(&["sign", "--config", config, "--acl", "/a/*", "--acl", "/b/*", "--exp", "2000000000", "--now", "1"]);
    let token = stdout(&joined);
    assert_eq!(token, stdout(&repeated), "both spellings sign the same token");
    assert!(token.contains("~acl=/a/*!/b/*~"), "{token}");
    for (path, code) in [("/b/x.deb", 0), ("/a/y", 0), ("/c/z", 1)] {
        let verified = edgegate(&["verify", "--config", config, "--token", &token, "--path", path, "--now", "10"]);
        assert_eq!(verified.status.code(), Some(code), "{path}: {}", stdout(&verified));
    }
    let empty = edgegate(&["sign", "--config", config, "--acl", "/a/*!", "--ttl", "60"]);
    assert_eq!(empty.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("acl"), "{}", String::from_utf8_lossy(&empty.stderr));
}

#[test]
fn sign_for_apt_prints_a_base_url_that_apt_decodes_into_the_path_form() {
    let config = config();
    let config = config.to_str().unwrap();
    let common = ["sign", "--config", config, "--acl", "/acme/main/*", "--exp", "2000000000", "--now", "1"];
    let base = ["--base-url", "https://cdn.example.com/acme/main/debian"];
    let apt = edgegate(&[&common[..], &base[..], &["--for", "apt"]].concat());
    assert!(apt.status.success(), "{}", String::from_utf8_lossy(&apt.stderr));
    let path = edgegate(&[&common[..], &base[..], &["--place", "path"]].concat());
    let apt = stdout(&apt);
    assert!(apt.contains("%253D") && apt.contains("%252F"), "encoded twice: {apt}");
    assert_eq!(decode_once(&apt), stdout(&path), "apt's one decoding gives the singly-encoded signed base URL");

    let query = edgegate(&[&common[..], &base[..], &["--for", "apt", "--place", "query"]].concat());
    assert_eq!(query.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&query.stderr).contains("--for apt"));
    let no_base = edgegate(&[&common[..], &["--for", "apt"]].concat());
    assert_eq!(no_base.status.code(), Some(2), "--for needs --base-url");
}
