//! SPEC §9 as tables: `fixtures/cache/classes.tsv` (real repository layouts, one row per
//! path, with where the layout comes from) for the built-in table, and a small table here
//! for `[[cache.rules]]` overriding it.

use edgegate_core::cache::{cache_control, cache_control_for_response, classify};
use edgegate_core::{CacheClass, CacheConfig, CacheRule};

const TABLE: &str = include_str!("../../../fixtures/cache/classes.tsv");

fn class_named(name: &str) -> CacheClass {
    match name {
        "package" => CacheClass::Package,
        "metadata" => CacheClass::Metadata,
        other => panic!("unknown class {other:?} in classes.tsv"),
    }
}

fn table_rows() -> Vec<(usize, &'static str, CacheClass, &'static str)> {
    TABLE
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(index, line)| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 3, "classes.tsv line {}: want path, class, source", index + 1);
            assert!(!fields[2].trim().is_empty(), "classes.tsv line {}: no provenance", index + 1);
            (index + 1, fields[0], class_named(fields[1]), fields[2])
        })
        .collect()
}

#[test]
fn builtin_table_matches_every_row() {
    let rows = table_rows();
    assert!(rows.len() >= 90, "classes.tsv has only {} rows", rows.len());
    let wrong: Vec<String> = rows
        .iter()
        .filter(|(_, path, want, _)| classify(path, &[]) != *want)
        .map(|(line, path, want, source)| format!("line {line}: {path} should be {} ({source})", want.as_str()))
        .collect();
    assert!(wrong.is_empty(), "{} rows misclassified:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn table_covers_both_classes_in_every_ecosystem() {
    // A table that only ever says "metadata" would pass the row test for half its rows;
    // make sure each ecosystem has rows on both sides.
    let rows = table_rows();
    for ecosystem in ["Debian", "createrepo_c", "PEP", "npm", "RubyGems", "signature"] {
        for class in [CacheClass::Package, CacheClass::Metadata] {
            assert!(
                rows.iter().any(|(_, _, c, source)| *c == class && source.contains(ecosystem)),
                "no {} row for {ecosystem}",
                class.as_str()
            );
        }
    }
}

fn rule(pattern: &str, class: CacheClass) -> CacheRule {
    CacheRule { pattern: pattern.into(), class }
}

#[test]
fn user_rules_override_the_table_first_match_wins() {
    let rules = [
        // A vendor's static assets, immutable by their own convention.
        rule("/acme/static/*", CacheClass::Package),
        // A .deb rewritten in place (a "latest" alias): keep it out of the cache.
        rule("/acme/latest/*.deb", CacheClass::Metadata),
        // Order matters: this would make every .deb in /acme/latest/ a package, but the rule
        // above comes first.
        rule("/acme/latest/*", CacheClass::Package),
        // A dated snapshot of indexes, never rewritten.
        rule("/snapshots/2026-11-*/dists/*", CacheClass::Package),
        // `?` is one character.
        rule("/odd/?.bin", CacheClass::Package),
    ];
    let cases: &[(&str, CacheClass)] = &[
        ("/acme/static/logo.svg", CacheClass::Package),
        ("/acme/static/css/site.css", CacheClass::Package),
        ("/acme/latest/agent.deb", CacheClass::Metadata),
        ("/acme/latest/agent.rpm", CacheClass::Package),
        ("/snapshots/2026-11-28/dists/bookworm/InRelease", CacheClass::Package),
        ("/odd/a.bin", CacheClass::Package),
        // Not matched by any rule: the built-in table decides.
        ("/odd/ab.bin", CacheClass::Metadata),
        ("/acme/pool/agent_1.0_amd64.deb", CacheClass::Package),
        ("/snapshots/latest/dists/bookworm/InRelease", CacheClass::Metadata),
        ("/acme/static", CacheClass::Metadata),
    ];
    for (path, want) in cases {
        assert_eq!(classify(path, &rules), *want, "{path}");
    }
    // Without the rules the same paths fall back to the table.
    assert_eq!(classify("/acme/static/logo.svg", &[]), CacheClass::Metadata);
    assert_eq!(classify("/acme/latest/agent.deb", &[]), CacheClass::Package);
}

#[test]
fn response_status_decides_whether_a_package_value_is_allowed() {
    let mut cache = CacheConfig::default();
    cache.rules.push(rule("/acme/static/*", CacheClass::Package));
    let package = cache.package.clone();
    let metadata = cache.metadata.clone();
    assert_ne!(package, metadata);
    let cases: &[(&str, u16, &str)] = &[
        ("/debian/pool/main/libs/libstdc++6_12.2.0-14_amd64.deb", 200, &package),
        ("/debian/pool/main/libs/libstdc++6_12.2.0-14_amd64.deb", 206, &package),
        ("/debian/pool/main/libs/libstdc++6_12.2.0-14_amd64.deb", 304, &package),
        ("/debian/pool/main/libs/libstdc++6_12.2.0-14_amd64.deb", 403, &metadata),
        ("/debian/pool/main/libs/libstdc++6_12.2.0-14_amd64.deb", 404, &metadata),
        ("/debian/pool/main/libs/libstdc++6_12.2.0-14_amd64.deb", 500, &metadata),
        ("/debian/pool/main/libs/libstdc++6_12.2.0-14_amd64.deb", 301, &metadata),
        ("/debian/pool/main/libs/libstdc++6_12.2.0-14_amd64.deb", 204, &metadata),
        ("/debian/dists/bookworm/InRelease", 200, &metadata),
        ("/debian/dists/bookworm/InRelease", 206, &metadata),
        ("/debian/dists/bookworm/InRelease", 304, &metadata),
        ("/debian/dists/bookworm/InRelease", 403, &metadata),
        ("/debian/dists/bookworm/InRelease", 404, &metadata),
        ("/debian/dists/bookworm/InRelease", 500, &metadata),
        // The rules count at the edge too.
        ("/acme/static/logo.svg", 200, &package),
        ("/acme/static/logo.svg", 404, &metadata),
    ];
    for (path, status, want) in cases {
        assert_eq!(cache_control_for_response(path, *status, &cache), *want, "{path} {status}");
    }
    assert_eq!(cache_control(CacheClass::Package, &cache), package);
    assert_eq!(cache_control(CacheClass::Metadata, &cache), metadata);
}
