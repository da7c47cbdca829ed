//! `verify` of a typical ACL token against HMAC-SHA256 alone over the same bytes, in one
//! run (issue goal: verify <= 1.3x the bare HMAC). Two baselines: `hmac-sha256-alone`
//! uses a key prepared once, as the gate does (the ratio then shows only what parsing,
//! time, IP and ACL checks add); `hmac-sha256-one-shot` keys from the secret bytes each
//! time, as a plain HMAC call does. `tests/bench/run.sh` prints both ratios.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use edgegate_core::{Claims, Config, Gate, KeyConfig, Scope, Secret};
use hmac::{KeyInit, Mac};

const SECRET: &str = "6b1f0c9d2a4e8f7031c5b9a7d3e2f1046a8c9b0d1e2f3a4b5c6d7e8f90a1b2c3";
const NOW: u64 = 1_800_000_000;

const PATH: &str = "/acme/main/debian/pool/main/libs/libstdc++6_12.2.0-14_amd64.deb";

/// The gate and a typical ACL token for a package under `/acme/main/debian/`.
fn setup() -> (Gate, String) {
    let config = Config {
        keys: vec![KeyConfig { id: "2026-11".into(), secret: Some(Secret::new(SECRET)), secret_env: None }],
        ..Config::default()
    };
    let gate = Gate::new(&config).expect("config");
    let claims = Claims {
        ip: None,
        start: None,
        expires: NOW + 3600,
        scope: Scope::acl("/acme/main/debian/*"),
        id: Some("user-4711".into()),
        data: None,
    };
    let token = gate.sign(&claims).expect("sign");
    (gate, token)
}

fn bench(c: &mut Criterion) {
    let (gate, token) = setup();
    let path = PATH;
    let signed = token.rsplit_once("~hmac=").expect("hmac").0.to_string();
    let key: Vec<u8> =
        (0..SECRET.len()).step_by(2).map(|i| u8::from_str_radix(&SECRET[i..i + 2], 16).unwrap_or(0)).collect();
    let keyed = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).expect("key");

    let mut group = c.benchmark_group("acl-token");
    group.bench_function("hmac-sha256-alone", |b| {
        b.iter(|| {
            let mut mac = keyed.clone();
            mac.update(black_box(signed.as_bytes()));
            black_box(mac.finalize().into_bytes())
        })
    });
    // What a verifier without a prepared keyring pays: key schedule (two extra blocks)
    // on every request.
    group.bench_function("hmac-sha256-one-shot", |b| {
        b.iter(|| {
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(black_box(&key)).expect("key");
            mac.update(black_box(signed.as_bytes()));
            black_box(mac.finalize().into_bytes())
        })
    });
    group.bench_function("verify", |b| {
        b.iter(|| black_box(gate.verify(black_box(&token), black_box(path), Some("192.0.2.10"), NOW)).is_ok())
    });
    group.finish();
}

criterion_group!(benches, bench);

fn parts(c: &mut Criterion) {
    let (_, token) = setup();
    let path = PATH;
    c.bench_function("parts/parse", |b| {
        b.iter(|| black_box(edgegate_core::token::ParsedToken::parse(black_box(&token)).is_ok()))
    });
    c.bench_function("parts/acl", |b| {
        b.iter(|| black_box(edgegate_core::token::acl_matches(black_box("/acme/main/debian/*"), black_box(path))))
    });
    // Issue 11 defect 3: signed hostile ACLs against an 8 KB path (26 ms with the old
    // backtracking matcher). The second is the costliest shape left: a middle run holding
    // `?` at the length limit, scanned over the whole path.
    let long_path = format!("/acme/main/{}", "a".repeat(8192 - 11));
    let star_run = format!("/acme/main/*{}b", "a".repeat(4000));
    let wildcard_run = format!("/acme/main/*{}b*", "a?".repeat(127));
    for (name, pattern) in
        [("parts/acl-hostile-star-run", &star_run), ("parts/acl-hostile-wildcard-run", &wildcard_run)]
    {
        c.bench_function(name, |b| {
            b.iter(|| black_box(edgegate_core::token::acl_matches(black_box(pattern), black_box(&long_path))))
        });
    }
}
criterion_group!(breakdown, parts);
criterion_main!(benches, breakdown);
