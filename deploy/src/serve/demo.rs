//! The embedded default of `edgegate serve` with no flags: the demo repository, a
//! development key, and a banner of signed URLs with copy-paste commands for curl, pip and
//! apt (what `make run` prints).

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use edgegate_core::{Claims, Config, Gate, KeyConfig, Scope, Secret};
use serde::Serialize;

/// Id of the development key; it shows up in every token's log line as the signer.
pub const DEV_KEY_ID: &str = "dev-only-not-secret";

/// DEVELOPMENT KEY, NOT SECRET: it is published here, so anyone can sign tokens for it.
/// It exists so that `make run` works on a fresh machine with no configuration; `serve`
/// uses it only when no `--config` is given, and says so loudly. (It is
/// sha256("edgegate development key: published, not secret").)
const DEV_KEY_HEX: &str = "571a631e6b2ad69e42ca1fc2f53f1c35e3b1f83f43a0fa5eca7db012ab13bf9c";

/// How long the printed URLs stay valid.
pub const DEMO_TTL_SECONDS: u64 = 3600;

/// The demo's one package file: `+` and `~` in its name on purpose.
pub const DEMO_DEB_PATH: &str = "/pool/libdemo++_1.0~rc1_all.deb";

/// The configuration `serve` runs with when given no `--config`: defaults (SPEC §6) and
/// the development key.
pub fn dev_config() -> Config {
    Config {
        keys: vec![KeyConfig { id: DEV_KEY_ID.into(), secret: Some(Secret::new(DEV_KEY_HEX)), secret_env: None }],
        ..Config::default()
    }
}

/// Where the demo repository is: `EDGEGATE_DEMO_DIR` if set, else the source tree this
/// binary was built from (`make run` runs it from there).
pub fn demo_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("EDGEGATE_DEMO_DIR") {
        let dir = PathBuf::from(dir);
        if !dir.is_dir() {
            bail!("EDGEGATE_DEMO_DIR={}: not a directory", dir.display());
        }
        return Ok(dir);
    }
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/demo-repo"));
    std::fs::canonicalize(&dir).with_context(|| {
        format!(
            "demo repository not found at {} (this binary was built elsewhere); \
             set EDGEGATE_DEMO_DIR or pass --origin DIR",
            dir.display()
        )
    })
}

/// Percent-encodes a token for a URL: everything but RFC 3986 unreserved characters, so
/// it survives as one path segment (`/` → `%2F`) or one query value (`&`, `=`).
pub fn encode_token(token: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(token.len() + 16);
    for b in token.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A URL as it must be written in an apt `sources.list` line: apt decodes `%XX` there
/// once, so each `%` is itself encoded (`%2F` → `%252F`).
pub fn apt_source_url(url: &str) -> String {
    url.replace('%', "%25")
}

/// What the banner shows; also the `--output json` document.
#[derive(Debug, Serialize)]
pub struct Demo {
    pub development_key: &'static str,
    pub expires: u64,
    /// Path token, ACL `/*`: a base URL for package managers.
    pub base_url: String,
    /// The same for an apt `sources.list` line: apt percent-decodes the URI it reads there
    /// once before requesting it, which would turn the token's `%2F` into a path `/`; so
    /// every `%` is encoded once more (`%252F`) and apt sends the base URL above.
    pub apt_base_url: String,
    /// Query token (URL token) for the demo `.deb`.
    pub file_url: String,
    /// The same file without a token (403 `missing-token`).
    pub unsigned_url: String,
    pub commands: Commands,
}

#[derive(Debug, Serialize)]
pub struct Commands {
    pub curl: Vec<String>,
    pub pip: Vec<String>,
    pub apt: Vec<String>,
}

/// Signs the demo URLs with `gate` (its first key) and builds the client commands.
pub fn demo(gate: &Gate, origin_url: &str, now: u64) -> anyhow::Result<Demo> {
    let expires = now + DEMO_TTL_SECONDS;
    let claims = |scope| Claims { ip: None, start: None, expires, scope, id: None, data: None };
    let base_token = gate.sign(&claims(Scope::acl("/*"))).context("signing the demo base URL")?;
    let file_token = gate.sign(&claims(Scope::url(DEMO_DEB_PATH))).context("signing the demo file URL")?;
    let name = gate.token_name();
    let base_url = format!("{origin_url}/{name}={}/", encode_token(&base_token));
    let apt_base_url = apt_source_url(&base_url);
    let file_path = edgegate_core::path::encode_forward(DEMO_DEB_PATH, true);
    let unsigned_url = format!("{origin_url}{file_path}");
    let file_url = format!("{unsigned_url}?{name}={}", encode_token(&file_token));

    let curl = vec![
        format!("curl -fsS -o libdemo.deb -w '%{{http_code}} %{{size_download}} bytes\\n' '{file_url}'"),
        format!("curl -fsS -r 0-99 -o part.bin -w '%{{http_code}} %{{size_download}} bytes\\n' '{file_url}'"),
        format!("curl -sS -o /dev/null -D - '{unsigned_url}'"),
    ];
    let pip = vec![format!(
        "pip download --no-deps --no-cache-dir -d /tmp/edgegate-pip --index-url '{base_url}simple/' edgegate-demo"
    )];
    let apt = vec![
        r#"d=$(mktemp -d) && mkdir -p "$d/lists/partial" "$d/cache/archives/partial" && touch "$d/status""#.to_string(),
        format!(r#"echo 'deb [trusted=yes] {apt_base_url} ./' > "$d/sources.list""#),
        r#"o="-o Dir::Etc::sourcelist=$d/sources.list -o Dir::Etc::sourceparts=- -o Dir::State=$d -o Dir::State::status=$d/status -o Dir::Cache=$d/cache -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root""#.to_string(),
        r#"apt-get $o update && (cd "$d" && apt-get $o download 'libdemo++' && ls -l "$d"/*.deb)"#.to_string(),
    ];
    Ok(Demo {
        development_key: DEV_KEY_ID,
        expires,
        base_url,
        apt_base_url,
        file_url,
        unsigned_url,
        commands: Commands { curl, pip, apt },
    })
}

/// The text banner.
pub fn render(demo: &Demo) -> String {
    let until = httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(demo.expires));
    let mut s = String::new();
    s.push_str(&format!(
        "\nWARNING: signing with the built-in DEVELOPMENT key \"{}\". It is published in edgegate's\n\
         source code, so anyone can mint tokens for it: use it on this machine only. For anything\n\
         else pass --config with keys from `edgegate generate-secret`.\n\n",
        demo.development_key
    ));
    s.push_str(&format!("Signed base URL (path token, ACL /*, valid 1 h, until {until}):\n  {}\n\n", demo.base_url));
    s.push_str(&format!("Signed file URL (query token for this one file):\n  {}\n\n", demo.file_url));
    s.push_str("curl (download; Range request: 206 with 100 bytes; no token: 403 missing-token):\n");
    for c in &demo.commands.curl {
        s.push_str(&format!("  {c}\n"));
    }
    s.push_str("\npip:\n");
    for c in &demo.commands.pip {
        s.push_str(&format!("  {c}\n"));
    }
    s.push_str(
        "\napt (isolated: your system's sources, lists and dpkg state are not touched; apt decodes\n\
         %XX in sources.list once, so there the token is encoded twice: %252F for %2F):\n",
    );
    for c in &demo.commands.apt {
        s.push_str(&format!("  {c}\n"));
    }
    s.push_str("\nStop with Ctrl-C. One JSON access line per request goes to standard error.\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_urls_verify_under_the_dev_key() -> anyhow::Result<()> {
        let gate = Gate::new(&dev_config())?;
        let now = 1_800_000_000;
        let demo = demo(&gate, "http://127.0.0.1:8080", now)?;
        assert!(demo.base_url.starts_with("http://127.0.0.1:8080/__token__=exp%3D1800003600~acl%3D%2F%2A~hmac%3D"));
        assert!(demo.base_url.ends_with('/'));
        assert!(demo.file_url.starts_with("http://127.0.0.1:8080/pool/libdemo%2B%2B_1.0~rc1_all.deb?__token__=exp%3D"));
        // The printed URLs pass the real decision.
        for (url, path) in [(&demo.file_url, DEMO_DEB_PATH), (&format!("{}simple/", demo.base_url), "/simple/")] {
            let rest = url.trim_start_matches("http://127.0.0.1:8080");
            let (uri, query) = rest.split_once('?').map_or((rest, None), |(u, q)| (u, Some(q)));
            let view = edgegate_handler::RequestView {
                method: "GET",
                uri,
                querystring: query,
                cookies: &[],
                client_ip: "127.0.0.1",
                request_id: "t",
                distribution_id: "local",
            };
            match edgegate_handler::decide(&gate, &view, now + 10) {
                edgegate_handler::Outcome::Forward(f) => {
                    assert_eq!(edgegate_core::path::canonicalize(&f.uri).ok().as_deref(), Some(path));
                }
                other => panic!("{url}: {other:?}"),
            }
        }
        Ok(())
    }
}
