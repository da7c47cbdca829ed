//! Key material is wiped before its memory is freed: the WASM module's bump arena hands
//! freed memory out again as it was, so an unwiped buffer would leave the key readable
//! in later allocations. A recording allocator checks every block as it is freed.
#![allow(unsafe_code, reason = "a test allocator wrapping the system allocator")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

use edgegate_core::{Claims, Config, Gate, KeyConfig, Scope, Secret};

/// 20 distinctive key bytes, as hex text and decoded.
const KEY_HEX: &str = "5eC2e7f1a9b3c4d5e6f708192a3b4c5d6e7f8091";
const KEY_BYTES: [u8; 20] = [
    0x5e, 0xc2, 0xe7, 0xf1, 0xa9, 0xb3, 0xc4, 0xd5, 0xe6, 0xf7, 0x08, 0x19, 0x2a, 0x3b, 0x4c, 0x5d, 0x6e, 0x7f, 0x80,
    0x91,
];

static WATCHING: AtomicBool = AtomicBool::new(false);
/// Freed blocks that still held the hex text or the decoded bytes.
static LEAKS: AtomicUsize = AtomicUsize::new(0);

struct Recording;

fn holds(block: &[u8], needle: &[u8]) -> bool {
    block.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

// SAFETY: every call is forwarded unchanged to `System`; `dealloc` only reads the block
// (allocated with `layout`, still live) before handing it back.
unsafe impl GlobalAlloc for Recording {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if WATCHING.load(SeqCst) {
            // SAFETY: `ptr` is a live block of `layout.size()` bytes until `System.dealloc`.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            // A prefix is enough to catch a key decoded in part before an error.
            if holds(block, KEY_HEX.as_bytes()) || holds(block, &KEY_BYTES[..12]) {
                LEAKS.fetch_add(1, SeqCst);
            }
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Recording = Recording;

/// Takes the text by value: a copy made here would be this test's own unwiped buffer.
fn config(hex: String) -> Config {
    Config {
        keys: vec![KeyConfig { id: "k".into(), secret: Some(Secret::new(hex)), secret_env: None }],
        ..Config::default()
    }
}

// One test function: the allocator is global, and parallel tests would share the count.
#[test]
fn key_material_is_wiped_before_it_is_freed() {
    assert_eq!(hex_decode(KEY_HEX), KEY_BYTES, "constants agree");
    WATCHING.store(true, SeqCst);

    // A gate keyed, used for a request, and dropped with its configuration.
    let config_ok = config(KEY_HEX.to_string());
    let gate = Gate::new(&config_ok).expect("valid configuration");
    let claims =
        Claims { ip: None, start: None, expires: 2_000_000_000, scope: Scope::acl("/*"), id: None, data: None };
    let token = gate.sign(&claims).expect("sign");
    assert!(gate.verify(&token, "/a", None, 1_900_000_000).is_ok());
    drop(config_ok);
    drop(gate);
    let after_gate = LEAKS.load(SeqCst);

    // Decoding stops at a bad digit after most of the key: the part decoded is wiped too.
    // Built in place: `format!` would grow its buffer and free a copy of the hex text.
    let mut text = String::with_capacity(KEY_HEX.len() + 2);
    text.push_str(KEY_HEX);
    text.push_str("zz");
    let bad = config(text);
    assert!(Gate::new(&bad).is_err());
    drop(bad);

    WATCHING.store(false, SeqCst);
    assert_eq!(after_gate, 0, "a freed block held the key (valid configuration)");
    assert_eq!(LEAKS.load(SeqCst), 0, "a freed block held the key (invalid configuration)");
}

fn hex_decode(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")).collect()
}
