//! Cache classes (SPEC §9): which `Cache-Control` an object or a response gets.
//!
//! One classification serves `reindex` (S3 object metadata), the origin-response handler
//! and `serve`, so the edge, the bucket and the local gate can never disagree. A cached
//! `Release` next to a fresh `Packages` breaks every apt client ("Hash Sum mismatch"),
//! while an uncached package costs one origin fetch: every doubt therefore resolves to
//! [`CacheClass::Metadata`].
//!
//! The built-in table is [`PACKAGE_TABLE`], narrowed by [`INDEX_TREES`], plus two wrappers ([`DETACHED_SIGNATURES`] and
//! [`PEP658_METADATA`]); whatever they do not name is metadata. Matching is on the
//! canonical (percent-decoded) path, case-sensitive, and allocates nothing: the
//! origin-response handler calls it for every response.
//!
//! ```
//! use edgegate_core::cache::{cache_control_for_response, classify};
//! use edgegate_core::{CacheClass, CacheConfig, CacheRule};
//!
//! let deb = "/debian/pool/main/libs/libstdc++6_12.2.0-14_amd64.deb";
//! assert_eq!(classify(deb, &[]), CacheClass::Package);
//! assert_eq!(classify("/debian/dists/bookworm/main/binary-amd64/Packages.xz", &[]), CacheClass::Metadata);
//!
//! // `[[cache.rules]]` come first.
//! let rules = [CacheRule { pattern: "/acme/static/*".into(), class: CacheClass::Package }];
//! assert_eq!(classify("/acme/static/logo.svg", &rules), CacheClass::Package);
//!
//! // A missing package must not be remembered.
//! let cache = CacheConfig::default();
//! assert_eq!(cache_control_for_response(deb, 200, &cache), cache.package);
//! assert_eq!(cache_control_for_response(deb, 404, &cache), cache.metadata);
//! ```

use crate::config::{CacheClass, CacheConfig, CacheRule};
use crate::token::acl_matches;

/// How one row of [`PACKAGE_TABLE`] recognises a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// The file name ends with this suffix and has something before it.
    Suffix(&'static str),
    /// The file name ends with the suffix (and has something before it), and a directory
    /// segment equal to the second string is among its ancestors.
    SuffixUnder(&'static str, &'static str),
    /// A file (non-empty name) below a segment equal to the second string, which itself
    /// lies below a segment equal to the first: `first/**/second/**`.
    Below(&'static str, &'static str),
    /// A file directly inside a directory of this name whose name is 32–128 lower-case hex
    /// digits, `-`, and at least one more character.
    ChecksumPrefixed(&'static str),
}

/// The built-in package rows of SPEC §9. A path none of them (nor the wrappers) matches is
/// metadata: `InRelease`, `Release`, `Release.gpg`, `Packages*`, `Sources*`, `Contents-*`,
/// `Translation-*`, `repomd.xml*`, `simple/` pages, npm packuments, RubyGems indexes,
/// signing keys and unknown files all land there by default, which is why no metadata
/// row exists. Note that `Packages.gz` or `Contents-amd64.gz` are metadata because
/// `.gz` alone is not a row; only `.tar.gz` and `.diff.gz` are.
pub static PACKAGE_TABLE: &[Match] = &[
    // Debian: https://wiki.debian.org/DebianRepository/Format ("Packages", "Sources",
    // "by-hash") and deb(5), dsc(5), deb-buildinfo(5). Binary packages, installer and debug
    // packages, source control files and the tarballs/diffs they name; pool/ file names
    // carry the version, so they are never rewritten.
    Match::Suffix(".deb"),
    Match::Suffix(".udeb"),
    Match::Suffix(".ddeb"),
    Match::Suffix(".dsc"),
    Match::Suffix(".buildinfo"),
    Match::Suffix(".tar.gz"),
    Match::Suffix(".tar.xz"),
    Match::Suffix(".tar.bz2"),
    Match::Suffix(".tar.zst"),
    Match::Suffix(".diff.gz"),
    // Debian Acquire-By-Hash: dists/<suite>/<component>/<arch>/by-hash/<Algo>/<hex>; the
    // name is the checksum of the content. Only under dists/, where apt looks for it.
    Match::Below("dists", "by-hash"),
    // RPM / yum / dnf: createrepo_c writes packages as given (Packages/x/x.rpm) and, by
    // default, names every repodata file "<checksum>-<type>.xml.gz" (repomd.xml, the one
    // file that names the others, has no prefix; nor has anything under
    // --simple-md-filenames). Delta RPMs (.drpm) come from createrepo_c --deltas.
    Match::Suffix(".rpm"),
    Match::Suffix(".drpm"),
    Match::ChecksumPrefixed("repodata"),
    // Python: PEP 503 (simple repository API; files may live under simple/ too), PEP 427
    // wheels, sdists (.tar.gz above, legacy .zip), legacy eggs. PEP 658 metadata files
    // are the `.metadata` wrapper below.
    Match::Suffix(".whl"),
    Match::Suffix(".zip"),
    Match::Suffix(".egg"),
    // npm registry API (https://github.com/npm/registry/blob/main/docs/REGISTRY-API.md):
    // tarballs at /<name>/-/<name>-<version>.tgz, scoped /@scope/<name>/-/<name>-<v>.tgz;
    // the packument /<name> (or /@scope/<name>) has no suffix and stays metadata.
    Match::Suffix(".tgz"),
    // RubyGems (https://guides.rubygems.org/rubygems-org-api/ , "Index formats"):
    // gems/<name>-<version>.gem and quick/Marshal.4.8/<name>-<version>.gemspec.rz. The
    // specs.4.8*, latest_specs.4.8*, prerelease_specs.4.8* indexes and the compact index
    // (versions, names, info/<name>) are rewritten on every push: metadata.
    Match::Suffix(".gem"),
    Match::SuffixUnder(".gemspec.rz", "quick"),
];

/// Directory segments below which file names say nothing about mutability: Debian's
/// `dists/` holds only indexes (https://wiki.debian.org/DebianRepository/Format; packages
/// live in `pool/`), among them tarballs rewritten in place under the same name
/// (`main/dep11/icons-64x64.tar.gz`, `main/installer-amd64/current/images/netboot/netboot.tar.gz`).
/// Below such a segment only the content-addressed rows ([`Match::Below`],
/// [`Match::ChecksumPrefixed`]) can make a file a package.
pub static INDEX_TREES: &[&str] = &["dists"];

/// Detached signatures: `X.asc` / `X.sig` is a package when `X` is one (a signature of a
/// versioned file never changes), metadata otherwise (`repomd.xml.asc`, a key `repo.asc`).
pub static DETACHED_SIGNATURES: &[&str] = &[".asc", ".sig"];

/// PEP 658: the core metadata of a distribution file is served at the file's URL plus
/// `.metadata`, so `X.whl.metadata` is as immutable as `X.whl`. `X.metadata` is a package
/// only when `X` matches a [`Match::Suffix`]/[`Match::SuffixUnder`] row; any other
/// `.metadata` file is not PEP 658's and stays metadata.
pub static PEP658_METADATA: &str = ".metadata";

/// The class of a canonical path: `[[cache.rules]]` in order (the ACL glob of SPEC §2, first
/// match wins), then the built-in table; anything unknown is [`CacheClass::Metadata`].
pub fn classify(canonical_path: &str, rules: &[CacheRule]) -> CacheClass {
    if let Some(rule) = rules.iter().find(|rule| acl_matches(&rule.pattern, canonical_path)) {
        return rule.class;
    }
    if builtin_is_package(canonical_path) { CacheClass::Package } else { CacheClass::Metadata }
}

/// The configured `Cache-Control` value of a class (`cache.package` or `cache.metadata`).
pub fn cache_control(class: CacheClass, cache: &CacheConfig) -> &str {
    match class {
        CacheClass::Package => &cache.package,
        CacheClass::Metadata => &cache.metadata,
    }
}

/// The `Cache-Control` of an answer for `canonical_path` with HTTP `status` (SPEC §9): the
/// package value only for a 200, 206 or 304 of a package, so that a 404 (or a 403, a 5xx)
/// for a package is never remembered; every other answer gets the metadata value.
pub fn cache_control_for_response<'c>(canonical_path: &str, status: u16, cache: &'c CacheConfig) -> &'c str {
    match status {
        200 | 206 | 304 => cache_control(classify(canonical_path, &cache.rules), cache),
        _ => &cache.metadata,
    }
}

/// The built-in table alone, without `[[cache.rules]]`.
fn builtin_is_package(path: &str) -> bool {
    let (dir, name) = match path.rfind('/') {
        Some(slash) => (&path[..slash], &path[slash + 1..]),
        None => ("", path),
    };
    if name.is_empty() {
        // A directory (a listing or an index page) is never content-identifying.
        return false;
    }
    if INDEX_TREES.iter().any(|tree| dir.split('/').any(|segment| segment == *tree)) {
        // Only the content-addressed rows speak for files below an index tree.
        return PACKAGE_TABLE
            .iter()
            .any(|row| matches!(row, Match::Below(..) | Match::ChecksumPrefixed(_)) && row_matches(*row, dir, name));
    }
    if PACKAGE_TABLE.iter().any(|row| row_matches(*row, dir, name)) {
        return true;
    }
    if name_is_distribution(dir, name) || pep658_of_distribution(dir, name) {
        return true;
    }
    DETACHED_SIGNATURES.iter().any(|sig| match strip_suffix(name, sig) {
        Some(signed) => name_is_distribution(dir, signed) || pep658_of_distribution(dir, signed),
        None => false,
    })
}

/// `name` (inside `dir`) matches a suffix row: the rows that speak about a file's own name,
/// which the wrappers may wrap.
fn name_is_distribution(dir: &str, name: &str) -> bool {
    PACKAGE_TABLE
        .iter()
        .any(|row| matches!(row, Match::Suffix(_) | Match::SuffixUnder(..)) && row_matches(*row, dir, name))
}

fn pep658_of_distribution(dir: &str, name: &str) -> bool {
    strip_suffix(name, PEP658_METADATA).is_some_and(|described| name_is_distribution(dir, described))
}

fn row_matches(row: Match, dir: &str, name: &str) -> bool {
    match row {
        Match::Suffix(suffix) => strip_suffix(name, suffix).is_some(),
        Match::SuffixUnder(suffix, ancestor) => {
            strip_suffix(name, suffix).is_some() && dir.split('/').any(|segment| segment == ancestor)
        }
        Match::Below(outer, inner) => {
            let mut segments = dir.split('/');
            segments.any(|segment| segment == outer) && segments.any(|segment| segment == inner)
        }
        Match::ChecksumPrefixed(parent) => dir.rsplit('/').next() == Some(parent) && checksum_prefixed(name),
    }
}

/// `name` with `suffix` removed, when something is left: a file called just `.deb` names
/// no package.
fn strip_suffix<'n>(name: &'n str, suffix: &str) -> Option<&'n str> {
    name.strip_suffix(suffix).filter(|rest| !rest.is_empty())
}

/// createrepo_c's "<checksum>-<type>": MD5 (32 digits) up to SHA-512 (128), lower-case as
/// createrepo_c writes it.
fn checksum_prefixed(name: &str) -> bool {
    let hex = name.bytes().take_while(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')).count();
    (32..=128).contains(&hex) && name.as_bytes().get(hex) == Some(&b'-') && name.len() > hex + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrappers_wrap_only_file_name_rows() {
        // A signature of a by-hash file would be package anyway, but a `.metadata` next to a
        // checksum-prefixed name is not PEP 658's.
        assert!(!builtin_is_package("/r/x.metadata"));
        assert!(builtin_is_package("/r/x.whl.metadata"));
        assert!(builtin_is_package("/r/x.whl.metadata.asc"));
        assert!(!builtin_is_package("/r/x.asc.asc"));
        assert!(!builtin_is_package("/r/x.deb.asc.asc"));
    }

    #[test]
    fn checksum_prefix_bounds() {
        let hex = "0123456789abcdef";
        let mut name = [0u8; 140];
        for (i, b) in name.iter_mut().enumerate() {
            *b = hex.as_bytes()[i % 16];
        }
        for digits in 0..=130 {
            let mut buf = [0u8; 140];
            buf[..digits].copy_from_slice(&name[..digits]);
            buf[digits] = b'-';
            buf[digits + 1] = b'p';
            let text = core::str::from_utf8(&buf[..digits + 2]).expect("ascii");
            assert_eq!(checksum_prefixed(text), (32..=128).contains(&digits), "{digits} digits");
        }
        assert!(!checksum_prefixed("0123456789abcdef0123456789abcdef-"));
        assert!(!checksum_prefixed("0123456789ABCDEF0123456789ABCDEF-primary.xml.gz"));
    }
}
