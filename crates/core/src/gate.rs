//! The validated gate: keyring, verification (SPEC §2, §5 order) and signing.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::net::IpAddr;

use hmac::digest::block_api::{Buffer, CoreProxy};
use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::config::{CacheConfig, Config, ConfigError, EncodedSlash, decode_secret, wipe};
use crate::path::{PathError, canonicalize_with};
use crate::reason::Reason;
use crate::token::{ACL_DELIMITER, AclBudget, FIELD_DELIMITER, ParsedToken, acl_matches_within};

type HmacSha256 = hmac::Hmac<Sha256>;

/// One verification key: the HMAC state keyed once at load time and cloned per request,
/// so a request never pays for re-keying (two SHA-256 blocks saved per key).
#[derive(Clone)]
struct Key {
    id: String,
    /// The keyed block state alone, without the wrapper's empty 64-byte buffer: a request
    /// copies 80 bytes instead of 150 and starts a fresh buffer (see [`Key::start`]).
    keyed: <HmacSha256 as CoreProxy>::Core,
}

impl Key {
    fn new(id: String, keyed: HmacSha256) -> Key {
        Key { id, keyed: keyed.decompose().0 }
    }

    /// A fresh MAC computation under this key.
    #[inline]
    fn start(&self) -> HmacSha256 {
        HmacSha256::compose(self.keyed.clone(), Buffer::<<HmacSha256 as CoreProxy>::Core>::default())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key").field("id", &self.id).finish_non_exhaustive()
    }
}

/// Configuration checked and keys prepared: everything a request needs, nothing it must
/// compute again. Built once per cold start by [`Gate::new`].
#[derive(Debug, Clone)]
pub struct Gate {
    token_name: String,
    leeway_seconds: u64,
    salt: String,
    public_prefixes: Vec<String>,
    methods: Vec<String>,
    path_tokens: bool,
    cookie_tokens: bool,
    s3_plus_fix: bool,
    encoded_slash: EncodedSlash,
    forward_query: Vec<String>,
    cache: CacheConfig,
    keys: Vec<Key>,
}

/// What a successful verification learned: which key signed, and the token's fields.
#[derive(Debug, Clone)]
pub struct Verified<'t> {
    /// `id` of the configured key whose HMAC matched.
    pub key_id: &'t str,
    /// The parsed token.
    pub token: ParsedToken<'t>,
}

/// What a token grants: a set of ACL patterns, or exactly one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// ACL token: patterns matched against the canonical path (`*`, `?`).
    Acl(Vec<String>),
    /// URL token: valid for this path only (canonicalised before signing).
    Url(String),
}

/// Inputs of [`Gate::sign`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// Viewer address to bind the token to.
    pub ip: Option<String>,
    /// Not valid before (Unix seconds).
    pub start: Option<u64>,
    /// Not valid after (Unix seconds).
    pub expires: u64,
    /// ACL patterns or one URL path.
    pub scope: Scope,
    /// Session id, carried and logged.
    pub id: Option<String>,
    /// Opaque payload, carried and signed.
    pub data: Option<String>,
}

/// Why [`Gate::sign`] refused its inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignError {
    /// No ACL pattern, or an empty one.
    EmptyAcl,
    /// An ACL pattern contains `!` (the ACL delimiter) or `~`.
    AclDelimiter,
    /// A field value contains `~`, or is empty; names the field.
    BadFieldValue(&'static str),
    /// `st` is not before `exp`.
    StartNotBeforeExpiry,
    /// A time does not fit in 12 decimal digits.
    TimeTooLarge,
    /// `ip` is not an IP address.
    BadIp,
    /// The URL path fails SPEC §3.
    BadPath(PathError),
    /// The token would be longer than the gate accepts ([`crate::token::MAX_TOKEN_BYTES`]).
    TooLong,
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::EmptyAcl => f.write_str("acl: empty pattern"),
            SignError::AclDelimiter => f.write_str("acl: a pattern may not contain '!' or '~'"),
            SignError::BadFieldValue(field) => write!(f, "{field}: empty or contains '~'"),
            SignError::StartNotBeforeExpiry => f.write_str("st: must be before exp"),
            SignError::TimeTooLarge => f.write_str("st/exp: more than 12 decimal digits"),
            SignError::BadIp => f.write_str("ip: not an IP address"),
            SignError::BadPath(e) => write!(f, "url: {e}"),
            SignError::TooLong => write!(
                f,
                "the token would be longer than {} bytes, which the gate refuses: sign fewer or shorter ACLs",
                crate::token::MAX_TOKEN_BYTES
            ),
        }
    }
}

impl core::error::Error for SignError {}

const MAX_TIME: u64 = 999_999_999_999;

impl Gate {
    /// Validates `config` (every rule of SPEC §6, naming the field) and keys the HMACs.
    pub fn new(config: &Config) -> Result<Gate, ConfigError> {
        config.check_fields()?;
        let mut keys = Vec::with_capacity(config.keys.len());
        for (i, key) in config.keys.iter().enumerate() {
            let field = alloc::format!("keys[{i}].secret");
            let Some(secret) = &key.secret else {
                return Err(ConfigError::new(field, "missing"));
            };
            let mut bytes = decode_secret(&field, secret)?;
            let keyed = <HmacSha256 as KeyInit>::new_from_slice(&bytes);
            // From here on the key exists only as the HMAC state; the WASM module's arena
            // would hand these bytes out again unwiped.
            wipe(&mut bytes);
            let keyed = keyed.map_err(|_| ConfigError::new(field, "unusable as an HMAC key"))?;
            keys.push(Key::new(key.id.clone(), keyed));
        }
        Ok(Gate {
            token_name: config.token_name.clone(),
            leeway_seconds: config.leeway_seconds,
            salt: config.salt.clone(),
            public_prefixes: config.public_prefixes.clone(),
            methods: config.methods.clone(),
            path_tokens: config.path_tokens,
            cookie_tokens: config.cookie_tokens,
            s3_plus_fix: config.s3_plus_fix,
            encoded_slash: config.encoded_slash,
            forward_query: config.forward_query.clone(),
            cache: config.cache.clone(),
            keys,
        })
    }

    /// Name of the token's path segment, query parameter and cookie.
    pub fn token_name(&self) -> &str {
        &self.token_name
    }
    /// Whether the first path segment may carry the token.
    pub fn path_tokens(&self) -> bool {
        self.path_tokens
    }
    /// Whether the `cookie` header may carry the token.
    pub fn cookie_tokens(&self) -> bool {
        self.cookie_tokens
    }
    /// Whether `+` is forwarded as `%2B`.
    pub fn s3_plus_fix(&self) -> bool {
        self.s3_plus_fix
    }
    /// What `%2F` in a path means (SPEC §3 step 1).
    pub fn encoded_slash(&self) -> EncodedSlash {
        self.encoded_slash
    }
    /// Query parameters forwarded to the origin (SPEC §4); all others are removed.
    pub fn forward_query(&self) -> &[String] {
        &self.forward_query
    }
    /// Cache classes and their `Cache-Control` values (SPEC §9).
    pub fn cache(&self) -> &CacheConfig {
        &self.cache
    }
    /// Allowed methods, for the `allow` header of a 405.
    pub fn methods(&self) -> &[String] {
        &self.methods
    }
    /// True when `method` is configured.
    pub fn allows_method(&self, method: &str) -> bool {
        self.methods.iter().any(|m| m == method)
    }
    /// True when the canonical path is under a `public_prefixes` entry.
    pub fn is_public(&self, canonical_path: &str) -> bool {
        self.public_prefixes.iter().any(|p| canonical_path.starts_with(p.as_str()))
    }
    /// Id of the signing key (the first one).
    pub fn signing_key_id(&self) -> &str {
        // Gate::new refuses an empty keyring, so there is always a first key.
        self.keys.first().map_or("", |k| k.id.as_str())
    }

    #[inline(always)]
    fn feed(&self, mac: &mut HmacSha256, signed: &str, url_path: Option<&str>) {
        mac.update(signed.as_bytes());
        if let Some(path) = url_path {
            mac.update(b"~url=");
            mac.update(path.as_bytes());
        }
        if !self.salt.is_empty() {
            mac.update(b"~salt=");
            mac.update(self.salt.as_bytes());
        }
    }

    /// Verifies percent-decoded token text for a canonical path (SPEC §2), in the order
    /// malformed → signature → time → IP → ACL, so that an unsigned guess learns only
    /// `malformed-token` or `bad-signature`.
    ///
    /// `client_ip` is the viewer address; `now` is Unix seconds from the caller's clock.
    pub fn verify<'t>(
        &'t self,
        token_text: &'t str,
        canonical_path: &str,
        client_ip: Option<&str>,
        now: u64,
    ) -> Result<Verified<'t>, Reason> {
        // The single pass, and the exact parser for what it does not accept, each followed
        // by its own copy of the checks: when both fed one copy, the fast path's token was
        // stored field by field and read back whole where they met, and that read waited
        // for the stores on every request.
        match ParsedToken::parse_fast(token_text) {
            Some(token) => self.check(token, canonical_path, client_ip, now),
            None => self.check_exact(token_text, canonical_path, client_ip, now),
        }
    }

    /// [`Gate::verify`] for text the single pass does not accept: rare, and kept out of line.
    #[cold]
    #[inline(never)]
    fn check_exact<'t>(
        &'t self,
        token_text: &'t str,
        canonical_path: &str,
        client_ip: Option<&str>,
        now: u64,
    ) -> Result<Verified<'t>, Reason> {
        let token = ParsedToken::parse_exact(token_text).map_err(|_| Reason::MalformedToken)?;
        self.check(token, canonical_path, client_ip, now)
    }

    /// [`Gate::verify`] after the parse: signature, time, IP, ACL.
    #[inline(always)]
    fn check<'t>(
        &'t self,
        token: ParsedToken<'t>,
        canonical_path: &str,
        client_ip: Option<&str>,
        now: u64,
    ) -> Result<Verified<'t>, Reason> {
        let url_path = token.is_url_token().then_some(canonical_path);

        let mut key_id = None;
        let expected = token.mac();
        for key in &self.keys {
            let mut mac = key.start();
            self.feed(&mut mac, token.signed, url_path);
            // Constant-time comparison; every key is tried only until one matches, which
            // reveals key order, not key bytes.
            if mac.verify_slice(&expected).is_ok() {
                key_id = Some(key.id.as_str());
                break;
            }
        }
        let key_id = key_id.ok_or(Reason::BadSignature)?;

        if now > token.expires.saturating_add(self.leeway_seconds) {
            return Err(Reason::Expired);
        }
        if token.start.is_some_and(|st| st.saturating_sub(self.leeway_seconds) > now) {
            return Err(Reason::NotYetValid);
        }
        if let Some(bound) = token.ip {
            let viewer: Option<IpAddr> = client_ip.and_then(|ip| ip.parse().ok());
            if viewer.map(canonical_ip) != Some(canonical_ip(bound)) {
                return Err(Reason::IpMismatch);
            }
        }
        // One budget for all of the token's ACLs: thousands of them must not each scan
        // the path (`AclBudget`).
        if let Some(acl) = token.acl {
            let mut budget = AclBudget::new();
            // Most tokens hold one ACL: no splitting then.
            let matched = if token.several_acls() {
                // Stop splitting once the budget is spent: the rest cannot match.
                let mut matched = false;
                for acl in acl.split(ACL_DELIMITER) {
                    if budget.exhausted() {
                        break;
                    }
                    if acl_matches_within(acl, canonical_path, &mut budget) {
                        matched = true;
                        break;
                    }
                }
                matched
            } else {
                acl_matches_within(acl, canonical_path, &mut budget)
            };
            if !matched {
                return Err(Reason::AclMismatch);
            }
        }
        Ok(Verified { key_id, token })
    }

    /// Signs claims with the first key, producing EdgeAuth 2.0 token text byte-identical
    /// to `akamai-edgeauth` for the same inputs (lower-case hex HMAC).
    pub fn sign(&self, claims: &Claims) -> Result<String, SignError> {
        use core::fmt::Write as _;
        fn field_ok(value: &str) -> bool {
            !value.is_empty() && !value.contains(FIELD_DELIMITER)
        }
        if claims.expires > MAX_TIME || claims.start.is_some_and(|st| st > MAX_TIME) {
            return Err(SignError::TimeTooLarge);
        }
        if claims.start.is_some_and(|st| st >= claims.expires) {
            return Err(SignError::StartNotBeforeExpiry);
        }
        let mut text = String::new();
        // Writing to a String cannot fail.
        if let Some(ip) = &claims.ip {
            ip.parse::<IpAddr>().map_err(|_| SignError::BadIp)?;
            let _ = write!(text, "ip={ip}~");
        }
        if let Some(st) = claims.start {
            let _ = write!(text, "st={st}~");
        }
        let _ = write!(text, "exp={}", claims.expires);
        let url_path = match &claims.scope {
            Scope::Acl(patterns) => {
                if patterns.is_empty() || patterns.iter().any(String::is_empty) {
                    return Err(SignError::EmptyAcl);
                }
                if patterns.iter().any(|p| p.contains(ACL_DELIMITER) || p.contains(FIELD_DELIMITER)) {
                    return Err(SignError::AclDelimiter);
                }
                text.push_str("~acl=");
                for (i, pattern) in patterns.iter().enumerate() {
                    if i > 0 {
                        text.push(ACL_DELIMITER);
                    }
                    text.push_str(pattern);
                }
                None
            }
            Scope::Url(path) => Some(canonicalize_with(path, self.encoded_slash).map_err(SignError::BadPath)?),
        };
        for (name, value) in [("id", &claims.id), ("data", &claims.data)] {
            if let Some(value) = value {
                if !field_ok(value) {
                    return Err(SignError::BadFieldValue(name));
                }
                let _ = write!(text, "~{name}={value}");
            }
        }
        let Some(key) = self.keys.first() else {
            // Unreachable for a Gate built by Gate::new; kept total rather than panicking.
            return Err(SignError::BadFieldValue("keys"));
        };
        let mut mac = key.start();
        self.feed(&mut mac, &text, url_path.as_deref());
        let digest = mac.finalize().into_bytes();
        text.push_str("~hmac=");
        crate::hex::push_lower(&mut text, &digest);
        if text.len() > crate::token::MAX_TOKEN_BYTES {
            return Err(SignError::TooLong);
        }
        Ok(text)
    }
}

/// IPv4-mapped IPv6 (`::ffff:192.0.2.1`) and IPv4 spell the same viewer: CloudFront
/// reports the IPv4 form, and a dual-stack socket (`edgegate serve`) the mapped one.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

impl Scope {
    /// One ACL pattern.
    pub fn acl(pattern: impl Into<String>) -> Scope {
        Scope::Acl(alloc::vec![pattern.into()])
    }
    /// One URL path.
    pub fn url(path: impl ToString) -> Scope {
        Scope::Url(path.to_string())
    }
}
