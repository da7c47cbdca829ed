//! `generate-secret`, `sign`, `verify` (SPEC §7).
//!
//! Nothing here prints a key or a token's `hmac` in an error: errors name the flag or the
//! configuration field, and the core's error texts carry no values.

use clap::{Args, ValueEnum};
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use edgegate_core::path::{canonicalize_with, encode_forward, percent_decode};
use edgegate_core::token::ParsedToken;
use edgegate_core::{Claims, Reason, Scope};
use serde::Serialize;

use crate::clock::now_or_clock;
use crate::output::{Output, Status, out, outln, print_json};
use crate::urls::{encode_token, for_apt};

#[derive(Debug, Args)]
pub struct GenerateSecretArgs {
    /// Key id for the block (default: the current year and month, e.g. 2026-11).
    #[arg(long)]
    pub id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Place {
    /// `?__token__=...`
    Query,
    /// `/__token__=.../path` (a signed base URL).
    Path,
    /// A path token encoded twice, for `sources.list` (`--for apt`).
    #[value(skip)]
    Apt,
}

/// Clients whose configuration files need their own URL form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Client {
    /// A `deb` line in `sources.list`: a path-token base URL, encoded twice.
    Apt,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    #[arg(long)]
    pub config: PathBuf,
    /// ACL pattern: repeat for several, or join them with `!` as EdgeAuth libraries do
    /// (`--acl '/a/*!/b/*'`).
    #[arg(long, value_delimiter = '!', conflicts_with = "url", required_unless_present = "url")]
    pub acl: Vec<String>,
    /// Path for a URL token (valid for exactly this path). Percent-encoding is allowed:
    /// the token is signed over the canonical, decoded path (SPEC §3), as the gate checks it.
    #[arg(long)]
    pub url: Option<String>,
    /// Lifetime in seconds from now.
    #[arg(long, conflicts_with = "exp", required_unless_present = "exp")]
    pub ttl: Option<u64>,
    /// Absolute expiry, Unix seconds.
    #[arg(long)]
    pub exp: Option<u64>,
    /// Not valid before, Unix seconds.
    #[arg(long)]
    pub st: Option<u64>,
    /// Bind to this viewer IP.
    #[arg(long)]
    pub ip: Option<String>,
    /// Session id field.
    #[arg(long)]
    pub id: Option<String>,
    /// Opaque data field.
    #[arg(long)]
    pub data: Option<String>,
    /// Print a signed URL on this base instead of the bare token.
    #[arg(long)]
    pub base_url: Option<String>,
    /// Where the token goes in the signed URL (default: query; path with `--for apt`).
    #[arg(long, value_enum, requires = "base_url")]
    pub place: Option<Place>,
    /// Print the URL in the form this client's configuration needs: `apt` decodes `%XX` in
    /// `sources.list` once, so its path token is percent-encoded twice (SPEC §4).
    #[arg(long = "for", value_enum, requires = "base_url")]
    pub for_client: Option<Client>,
    /// Current time, Unix seconds (default: the system clock); `--ttl` counts from it.
    #[arg(long)]
    pub now: Option<u64>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[arg(long)]
    pub config: PathBuf,
    /// Token as carried in a URL or cookie: percent-decoded once, as the gate does (raw
    /// token text without `%` passes unchanged).
    #[arg(long)]
    pub token: String,
    /// Request path (raw, percent-encoded as a client sends it).
    #[arg(long)]
    pub path: String,
    /// Viewer IP.
    #[arg(long)]
    pub ip: Option<String>,
    /// Current time, Unix seconds (default: the system clock).
    #[arg(long)]
    pub now: Option<u64>,
}

/// Bytes of a generated secret: the HMAC-SHA256 block-size sweet spot EdgeAuth tools use.
const SECRET_BYTES: usize = 32;

fn hex_lower(bytes: &[u8]) -> String {
    let mut out = String::new();
    edgegate_core::hex::push_lower(&mut out, bytes);
    out
}

/// `YYYY-MM` (UTC) for Unix seconds: the default key id, so ids sort by age.
fn year_month(unix_seconds: u64) -> String {
    // Howard Hinnant's days-to-civil; only the proleptic Gregorian month is needed.
    let days = i64::try_from(unix_seconds / 86_400).unwrap_or(i64::MAX / 2);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}")
}

#[derive(Serialize)]
struct KeyBlock<'a> {
    id: &'a str,
    secret: &'a str,
}

#[derive(Serialize)]
struct KeysFile<'a> {
    keys: [KeyBlock<'a>; 1],
}

/// Prints a `[[keys]]` block (or `{"id","secret"}`) with 32 fresh random bytes.
pub fn generate_secret(args: &GenerateSecretArgs, out: Output) -> anyhow::Result<Status> {
    let id = match &args.id {
        Some(id) if id.is_empty() => bail!("--id: empty"),
        Some(id) => id.clone(),
        None => year_month(now_or_clock(None)?),
    };
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("system random source failed: {e}"))?;
    let secret = hex_lower(&bytes);
    let block = KeyBlock { id: &id, secret: &secret };
    match out {
        // Serialised by the toml crate so that any id is quoted and escaped correctly.
        Output::Text => out!("{}", toml::to_string(&KeysFile { keys: [block] })?)?,
        Output::Json => print_json(&block)?,
    }
    Ok(Status::Ok)
}

/// Splits `scheme://authority[rest]` into (`scheme://authority`, `rest`).
fn split_authority(base_url: &str) -> anyhow::Result<(&str, &str)> {
    let Some(scheme_end) = base_url.find("://") else {
        bail!("--base-url: expected scheme://host[/path], e.g. https://cdn.example.com");
    };
    let after = scheme_end + "://".len();
    let end = base_url[after..].find(['/', '?', '#']).map_or(base_url.len(), |i| after + i);
    if end == after {
        bail!("--base-url: no host");
    }
    Ok(base_url.split_at(end))
}

/// The signed URL of SPEC §4: token as query parameter, or as the first path segment of a
/// signed base URL. `url_path` is the canonical path of a URL token (None for ACL tokens).
fn signed_url(
    base_url: &str,
    url_path: Option<&str>,
    token_name: &str,
    token: &str,
    place: Place,
) -> anyhow::Result<String> {
    let (origin, rest) = split_authority(base_url)?;
    if rest.contains('#') {
        bail!("--base-url: a fragment is never sent to the server; remove it");
    }
    let rest = match url_path {
        Some(path) => {
            // A URL token is valid for exactly one path: a base URL with its own path or
            // query would produce a URL the gate must refuse.
            if !(rest.is_empty() || rest == "/") {
                bail!("--base-url: with --url, give only scheme://host (the path comes from --url)");
            }
            // Re-encoded so the URL is valid; the gate decodes it back to `path` (SPEC §3).
            encode_forward(path, false)
        }
        None => rest.to_owned(),
    };
    let value = encode_token(token);
    Ok(match place {
        Place::Query => {
            let separator = if rest.contains('?') { '&' } else { '?' };
            format!("{origin}{rest}{separator}{token_name}={value}")
        }
        Place::Path | Place::Apt => {
            let rest = if rest.is_empty() || rest.starts_with('?') { format!("/{rest}") } else { rest };
            let url = format!("{origin}/{token_name}={value}{rest}");
            if place == Place::Apt { for_apt(&url) } else { url }
        }
    })
}

/// Where the token goes: `--place`, or what `--for` needs.
fn place(args: &SignArgs) -> anyhow::Result<Place> {
    match (args.for_client, args.place) {
        (None, place) => Ok(place.unwrap_or(Place::Query)),
        (Some(Client::Apt), Some(Place::Query)) => {
            bail!("--for apt: apt needs a signed base URL, i.e. a path token; drop --place query")
        }
        (Some(Client::Apt), _) if args.url.is_some() => {
            bail!(
                "--for apt: a sources.list line needs a base URL valid for a whole tree; sign it with --acl, not --url"
            )
        }
        (Some(Client::Apt), _) => Ok(Place::Apt),
    }
}

#[derive(Serialize)]
struct SignReport<'a> {
    token: &'a str,
    url: Option<&'a str>,
    expires: u64,
    key_id: &'a str,
}

/// Signs an ACL or URL token with the first configured key; prints it or a signed URL.
pub fn sign(args: &SignArgs, out: Output) -> anyhow::Result<Status> {
    let loaded = crate::config::load(&args.config)?;
    let gate = &loaded.gate;
    let now = now_or_clock(args.now)?;
    let expires = match (args.exp, args.ttl) {
        (Some(exp), _) => exp,
        (None, Some(ttl)) => now.checked_add(ttl).context("--ttl: too large")?,
        (None, None) => bail!("one of --exp or --ttl is required"),
    };
    if let Some(ip) = &args.ip {
        ip.parse::<IpAddr>().map_err(|_| anyhow::anyhow!("--ip: not an IP address"))?;
    }
    let (scope, url_path) = match &args.url {
        Some(url) => {
            let canonical = canonicalize_with(url, gate.encoded_slash()).map_err(|e| anyhow::anyhow!("--url: {e}"))?;
            (Scope::Url(url.clone()), Some(canonical))
        }
        None => (Scope::Acl(args.acl.clone()), None),
    };
    let claims =
        Claims { ip: args.ip.clone(), start: args.st, expires, scope, id: args.id.clone(), data: args.data.clone() };
    let token = gate.sign(&claims).map_err(|e| anyhow::anyhow!("cannot sign: {e}"))?;
    let url = match &args.base_url {
        Some(base) => Some(signed_url(base, url_path.as_deref(), gate.token_name(), &token, place(args)?)?),
        None => None,
    };
    if expires.saturating_add(loaded.config.leeway_seconds) < now {
        eprintln!("edgegate: warning: the token expired before --now; it will be refused");
    }
    match out {
        Output::Text => outln!("{}", url.as_deref().unwrap_or(&token))?,
        Output::Json => {
            print_json(&SignReport { token: &token, url: url.as_deref(), expires, key_id: gate.signing_key_id() })?
        }
    }
    Ok(Status::Ok)
}

#[derive(Serialize)]
struct VerifyReport<'a> {
    result: &'static str,
    reason: Option<&'static str>,
    key_id: Option<&'a str>,
    /// Which rule a malformed token or bad path broke; never echoes the input.
    detail: Option<String>,
}

/// A denial and, where it helps the operator, which rule was broken.
struct Denial {
    reason: Reason,
    detail: Option<String>,
}

fn check(args: &VerifyArgs, gate: &edgegate_core::Gate, now: u64) -> Result<String, Denial> {
    let path = canonicalize_with(&args.path, gate.encoded_slash())
        .map_err(|e| Denial { reason: Reason::BadPath, detail: Some(e.to_string()) })?;
    // The gate percent-decodes every token value it finds (SPEC §4); doing the same here
    // makes `verify` answer exactly as the gate would. Raw token text without `%` is
    // unchanged by decoding.
    let malformed = |detail: &str| Denial { reason: Reason::MalformedToken, detail: Some(detail.to_owned()) };
    let bytes = percent_decode(&args.token).ok_or_else(|| malformed("bad percent-encoding"))?;
    let text = String::from_utf8(bytes).map_err(|_| malformed("not UTF-8 once percent-decoded"))?;
    match gate.verify(&text, &path, args.ip.as_deref(), now) {
        Ok(verified) => Ok(verified.key_id.to_owned()),
        Err(Reason::MalformedToken) => {
            let detail = ParsedToken::parse(&text).err().map(|e| e.to_string());
            Err(Denial { reason: Reason::MalformedToken, detail })
        }
        Err(reason) => Err(Denial { reason, detail: None }),
    }
}

/// Verifies a token for a path: `ok` (exit 0) or the reason code (exit 1).
pub fn verify(args: &VerifyArgs, out: Output) -> anyhow::Result<Status> {
    let loaded = crate::config::load(&args.config)?;
    if let Some(ip) = &args.ip {
        ip.parse::<IpAddr>().map_err(|_| anyhow::anyhow!("--ip: not an IP address"))?;
    }
    let now = now_or_clock(args.now)?;
    let result = check(args, &loaded.gate, now);
    match (&result, out) {
        (Ok(_), Output::Text) => outln!("ok")?,
        (Err(denial), Output::Text) => {
            outln!("{}", denial.reason.code())?;
            if let Some(detail) = &denial.detail {
                eprintln!("edgegate: {}: {detail}", denial.reason.code());
            }
        }
        (Ok(key_id), Output::Json) => {
            print_json(&VerifyReport { result: "ok", reason: None, key_id: Some(key_id), detail: None })?;
        }
        (Err(denial), Output::Json) => print_json(&VerifyReport {
            result: "denied",
            reason: Some(denial.reason.code()),
            key_id: None,
            detail: denial.detail.clone(),
        })?,
    }
    Ok(if result.is_ok() { Status::Ok } else { Status::Denied })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_month_is_utc_calendar() {
        assert_eq!(year_month(0), "1970-01");
        assert_eq!(year_month(951_782_400), "2000-02");
        assert_eq!(year_month(1_796_083_199), "2026-11");
        assert_eq!(year_month(1_796_083_200), "2026-12");
        assert_eq!(year_month(4_107_542_400), "2100-03");
    }

    #[test]
    fn signed_urls_put_the_token_where_spec_4_looks() {
        let q = signed_url("https://cdn.example.com", Some("/a b+c"), "__token__", "exp=1~hmac=ab", Place::Query);
        assert_eq!(q.ok().as_deref(), Some("https://cdn.example.com/a%20b+c?__token__=exp%3D1%7Ehmac%3Dab"));
        let q = signed_url("https://cdn.example.com/x?y=1", None, "tok", "exp=1", Place::Query);
        assert_eq!(q.ok().as_deref(), Some("https://cdn.example.com/x?y=1&tok=exp%3D1"));
        let p =
            signed_url("https://cdn.example.com:8443/acme/main/debian", None, "__token__", "acl=/acme/*", Place::Path);
        assert_eq!(
            p.ok().as_deref(),
            Some("https://cdn.example.com:8443/__token__=acl%3D%2Facme%2F%2A/acme/main/debian")
        );
        let p = signed_url("https://cdn.example.com", None, "__token__", "exp=1", Place::Path);
        assert_eq!(p.ok().as_deref(), Some("https://cdn.example.com/__token__=exp%3D1/"));
        let p = signed_url("https://cdn.example.com/", Some("/p"), "__token__", "exp=1", Place::Path);
        assert_eq!(p.ok().as_deref(), Some("https://cdn.example.com/__token__=exp%3D1/p"));
        let apt = signed_url("https://cdn.example.com/acme/main/debian", None, "__token__", "acl=/acme/*", Place::Apt);
        assert_eq!(
            apt.ok().as_deref(),
            Some("https://cdn.example.com/__token__=acl%253D%252Facme%252F%252A/acme/main/debian")
        );
        assert!(signed_url("https://cdn.example.com/base", Some("/p"), "t", "x", Place::Query).is_err());
        assert!(signed_url("cdn.example.com/base", None, "t", "x", Place::Query).is_err());
        assert!(signed_url("https:///base", None, "t", "x", Place::Query).is_err());
    }
}
