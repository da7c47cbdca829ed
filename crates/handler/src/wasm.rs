//! Lambda@Edge entry points: raw WebAssembly exports driven by `js/index.mjs`, for the
//! viewer-request gate (`edgegate_decide`) and the origin-response cache header
//! (`edgegate_origin_response`).
//!
//! No wasm-bindgen: the module has no imports, and a request costs one call from
//! JavaScript (see the crate README, "Lambda@Edge runtime", for the measured figures).
//!
//! # ABI
//!
//! All integers are little-endian `u32`; pointers are offsets into the exported `memory`.
//! [`crate::abi`] reads and writes this layout in safe code, compiled and unit-tested on
//! every target (and fuzzed); this file is only the shell that owns the memory.
//!
//! Cold start (once per instance):
//! 1. `edgegate_input(n) -> ptr`: a 4-aligned input region of at least `n` bytes.
//! 2. JavaScript writes `edgegate.json` there; `edgegate_init(len) -> status`
//!    (`0` ok, `1` invalid configuration, `2` called twice). On `1`, output words 0–1 hold
//!    the error text (it names the field, never a secret); every request then answers
//!    500 `misconfigured`.
//! 3. `edgegate_output() -> ptr`: six output words (stable for the instance's life).
//!
//! Per request: JavaScript writes into the input region
//!
//! ```text
//! words: [method, uri, querystring (0xFFFF_FFFF: absent), clientIp, requestId,
//!         distributionId, n, cookie_0 .. cookie_{n-1}]   (byte lengths)
//! then:  the UTF-8 bytes of those strings, in that order, back to back
//! ```
//!
//! and calls `edgegate_decide(now_seconds: f64) -> flags`:
//!
//! | flags | output words |
//! |---|---|
//! | `DENY` (1) | 0–1: the response JSON (`crate::response`), 2–3: the log line |
//! | forward, `+ URI` (2) | 0–1: new `uri` (absent bit: the viewer's `uri` is already canonical) |
//! | forward, `+ QUERY` (4) | 2–3: new `querystring` |
//! | forward, `+ COOKIES` (8) | 4: address of `n` (ptr, len) pairs, 5: `n` (0: drop the header) |
//! | `0xFFFF_FFFF` | input unusable: JavaScript answers 500 `internal` |
//!
//! Origin-response events (`cf.config.eventType == "origin-response"`): JavaScript writes the
//! forwarded request into the input region in the same layout (`n` may be 0: cookies play
//! no part), reads `response.status` (exactly three digits, `[1-9][0-9][0-9]`; anything
//! else is a fault it answers itself) and calls `edgegate_origin_response(status) ->
//! flags`:
//!
//! | flags | output words | JavaScript |
//! |---|---|---|
//! | `SET` (16) | 0–1: the `cache-control` value | replaces every `cache-control` entry with it |
//! | `KEEP` (32) | 2–3: the log line | returns the response unchanged, logs the line (no configuration, unreadable status) |
//! | `0xFFFF_FFFF` | | input unusable: the response unchanged, an `internal` log line |
//!
//! A trap there is answered the same way: the origin's response unchanged, never a 5xx.
//!
//! Output stays valid until the next call into the module.
//!
//! # Memory
//!
//! A bump allocator with a mark: what `edgegate_init` allocates (the [`Gate`]) and the input
//! region sit below the mark and live for the instance; everything a request allocates is
//! above it and is discarded wholesale when the next request starts. A request therefore
//! never calls a general-purpose allocator and the heap cannot fragment or grow over time.

#[cfg(target_feature = "atomics")]
compile_error!("the edgegate wasm module assumes a single thread (its allocator and state are not thread-safe)");

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::RefCell;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use edgegate_core::{Gate, Reason};

use serde_json::Map;

use crate::abi::{self, DENY, ERROR, Fields, KEEP, SET};
use crate::decide::{Forward, Outcome, RequestView, decide};
use crate::event::{CfConfig, CfRecord, CfRequest, CfResponse, Event, HandlerResult, Header, Headers, Record};
use crate::generated::response;
use crate::origin_response::{CacheHeader, origin_cache_control};
use crate::{GateState, Handled};

const PAGE: usize = 65_536;
/// Smallest input region: every realistic request fits, so it is allocated once.
const MIN_INPUT: usize = 16 * 1024;

// ---------------------------------------------------------------------------------------
// Allocator

/// Bump allocator over the memory above the module's initial pages. `mark` separates the
/// instance's long-lived allocations from the current request's.
struct Arena {
    top: AtomicUsize,
    end: AtomicUsize,
    mark: AtomicUsize,
}

impl Arena {
    /// Start of a free block of `size` bytes aligned to `align` (a power of two), or 0.
    fn bump(&self, size: usize, align: usize) -> usize {
        if self.end.load(Relaxed) == 0 {
            // Everything the linker placed (stack, data) is inside the initial memory.
            let start = wasm32::memory_size(0) * PAGE;
            self.end.store(start, Relaxed);
            self.top.store(start, Relaxed);
            self.mark.store(start, Relaxed);
        }
        let top = self.top.load(Relaxed);
        let Some(start) = top.checked_add(align - 1).map(|a| a & !(align - 1)) else {
            return 0;
        };
        let Some(new_top) = start.checked_add(size) else {
            return 0;
        };
        if !self.reserve(new_top) {
            return 0;
        }
        self.top.store(new_top, Relaxed);
        start
    }

    /// Makes sure memory extends to `needed`, growing it by whole pages.
    fn reserve(&self, needed: usize) -> bool {
        let end = self.end.load(Relaxed);
        if needed <= end {
            return true;
        }
        let pages = (needed - end).div_ceil(PAGE);
        if wasm32::memory_grow(0, pages) == usize::MAX {
            return false;
        }
        // 4 GiB of memory does not fit a wasm32 usize: treat as exhausted.
        match wasm32::memory_size(0).checked_mul(PAGE) {
            Some(new_end) => {
                self.end.store(new_end, Relaxed);
                true
            }
            None => false,
        }
    }

    /// True when `ptr..ptr + size` is the newest request-scoped block.
    fn is_last(&self, ptr: usize, size: usize) -> bool {
        ptr >= self.mark.load(Relaxed) && ptr + size == self.top.load(Relaxed)
    }

    /// Drops every request-scoped allocation. Callers make sure none is still referenced
    /// (see [`begin`]).
    fn reset(&self) {
        self.top.store(self.mark.load(Relaxed), Relaxed);
    }

    /// Makes everything allocated so far long-lived.
    fn keep(&self) {
        self.mark.store(self.top.load(Relaxed), Relaxed);
    }
}

#[allow(unsafe_code)]
// SAFETY: `bump` hands out disjoint blocks inside memory that exists (grown first) and is
// never handed out again while allocated: only `reset` rewinds, and `begin` calls it when
// nothing above the mark is alive. Blocks are aligned as requested; 0 (null) reports
// exhaustion, which `alloc` turns into `handle_alloc_error` (a trap).
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.bump(layout.size(), layout.align()) as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Only the newest block can be given back; the rest waits for the next `reset`.
        if self.is_last(ptr as usize, layout.size()) {
            self.top.store(ptr as usize, Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let start = ptr as usize;
        // Growing strings (serde_json output, stripped query) are usually the newest block.
        if self.is_last(start, layout.size()) {
            let Some(new_top) = start.checked_add(new_size) else {
                return core::ptr::null_mut();
            };
            if !self.reserve(new_top) {
                return core::ptr::null_mut();
            }
            self.top.store(new_top, Relaxed);
            return ptr;
        }
        let new = self.bump(new_size, layout.align()) as *mut u8;
        if !new.is_null() {
            // SAFETY: both blocks are allocated, disjoint (`new` is above the old top), and
            // at least `min(old, new)` bytes long.
            unsafe { core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
        }
        new
    }
}

#[global_allocator]
static ARENA: Arena = Arena { top: AtomicUsize::new(0), end: AtomicUsize::new(0), mark: AtomicUsize::new(0) };

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // A trap: `index.mjs` answers 500 `internal` and starts a fresh instance.
    wasm32::unreachable()
}

// ---------------------------------------------------------------------------------------
// State

/// Makes a static of a non-`Sync` type possible.
struct SingleThreaded<T>(T);

#[allow(unsafe_code)]
// SAFETY: wasm32-unknown-unknown without the `atomics` feature (refused at the top of this
// file) runs exactly one thread; the value is never reached from two threads.
unsafe impl<T> Sync for SingleThreaded<T> {}

/// What the previous call handed to JavaScript; kept alive until the next call.
#[allow(dead_code, reason = "owned, never read: keeps the bytes JavaScript reads alive")]
enum Held {
    Nothing,
    Forward(Forward, Vec<u32>),
    Deny(Vec<u8>, String),
    Text(String),
}

struct State {
    /// `None` before `edgegate_init`; `Err` (the error text) when the configuration is invalid.
    gate: Option<Result<Gate, String>>,
    /// Backing store of the input region (a few spare bytes for 4-alignment).
    input: Vec<u8>,
    /// Offset of the 4-aligned input region inside `input`.
    input_offset: usize,
    out: [u32; 6],
    held: Held,
    /// Test hook: the next `edgegate_decide` panics (see `edgegate_fault`).
    fault: bool,
}

static STATE: SingleThreaded<RefCell<State>> = SingleThreaded(RefCell::new(State {
    gate: None,
    input: Vec::new(),
    input_offset: 0,
    out: [0; 6],
    held: Held::Nothing,
    fault: false,
}));

/// Starts a call: releases what the previous call handed out, then rewinds the arena.
/// Sound because `held` owned every request-scoped allocation still alive.
fn begin(state: &mut State) {
    state.held = Held::Nothing;
    ARENA.reset();
}

// ---------------------------------------------------------------------------------------
// Exports

/// Returns a 4-aligned input region of at least `len` bytes; running out of memory traps.
/// Growing it happens between requests, so it starts a call like any other.
#[allow(unsafe_code)]
// SAFETY (no_mangle): a unique, crate-prefixed symbol taking and returning plain integers.
#[unsafe(no_mangle)]
pub extern "C" fn edgegate_input(len: u32) -> u32 {
    let mut state = STATE.0.borrow_mut();
    let state = &mut *state;
    begin(state);
    let len = len as usize;
    // Saturating: a length near 4 GiB must fail to allocate (a trap), never wrap around
    // to a small region that JavaScript would then overrun.
    if state.input.len() < len.saturating_add(3 + state.input_offset) || state.input.is_empty() {
        let size = len.max(MIN_INPUT).saturating_add(3);
        // Dropping the old region cannot free it (it sits below the mark); it is a few KB,
        // and only requests larger than any CloudFront sends get here after the first call.
        state.input = alloc::vec![0; size];
        ARENA.keep();
        let base = state.input.as_ptr() as usize;
        state.input_offset = base.wrapping_neg() & 3;
    }
    abi::addr(&state.input[state.input_offset..])
}

/// Parses `edgegate.json` (`len` bytes at the input region) once; see the module docs.
#[allow(unsafe_code)]
// SAFETY (no_mangle): a unique, crate-prefixed symbol taking and returning plain integers.
#[unsafe(no_mangle)]
pub extern "C" fn edgegate_init(len: u32) -> u32 {
    let mut state = STATE.0.borrow_mut();
    let state = &mut *state;
    begin(state);
    if state.gate.is_some() {
        return 2;
    }
    let region = &mut state.input[state.input_offset..];
    let parsed = match region.get(..len as usize) {
        // The runtime's wire form of the error is its text (read by `index.mjs`).
        Some(json) => crate::gate_from_json_bytes(json).map_err(|e| e.to_string()),
        None => Err("edgegate.json larger than the input region".to_string()),
    };
    // The text held the keys: cleared here, as `index.mjs` clears its copy. Afterwards the
    // keys exist only as the Gate's keyed HMAC states, for the instance's life: the parsed
    // hex text and decoded bytes are wiped when dropped (`Secret`, `Gate::new`), and so is
    // each request's copy of an HMAC state (the `zeroize` features of hmac and sha2). Not
    // wiped: serde_json's scratch copy of a key written with JSON escapes (hex needs none).
    region.fill(0);
    let status = match &parsed {
        Ok(_) => 0,
        Err(message) => {
            state.out = abi::text_output(message);
            1
        }
    };
    state.gate = Some(parsed);
    // The gate (and the error text) live for the instance.
    ARENA.keep();
    status
}

/// Address of the six output words.
#[allow(unsafe_code)]
// SAFETY (no_mangle): a unique, crate-prefixed symbol returning a plain integer.
#[unsafe(no_mangle)]
pub extern "C" fn edgegate_output() -> u32 {
    abi::addr(&STATE.0.borrow().out)
}

/// Decides one request described in the input region; see the module docs.
#[allow(unsafe_code)]
// SAFETY (no_mangle): a unique, crate-prefixed symbol taking and returning plain scalars.
#[unsafe(no_mangle)]
pub extern "C" fn edgegate_decide(now: f64) -> u32 {
    let mut state = STATE.0.borrow_mut();
    let state = &mut *state;
    begin(state);
    if state.fault {
        panic!("edgegate: injected fault");
    }
    // NaN is in no range. A bad clock must not turn into `now = 0` (which would
    // make expired tokens valid): refuse instead.
    if !(0.0..1e15).contains(&now) {
        return ERROR;
    }
    let now = now as u64;
    let region = &state.input[state.input_offset..];
    let Some(fields) = Fields::parse(region) else {
        return ERROR;
    };
    let view = fields.view();
    let held = match &state.gate {
        Some(Ok(gate)) => match decide(gate, &view, now) {
            Outcome::Forward(forward) => Ok(forward_held(forward)),
            Outcome::Deny(deny) => deny_held(deny.response.to_cloudfront(), deny.log),
        },
        _ => without_gate(&view, now),
    };
    let Ok(held) = held else {
        return ERROR;
    };
    let (flags, out) = match &held {
        Held::Forward(forward, pairs) => abi::forward_output(forward, view.uri, pairs),
        Held::Deny(json, log) => (DENY, abi::deny_output(json, log)),
        Held::Nothing | Held::Text(_) => return ERROR,
    };
    state.out = out;
    state.held = held;
    flags
}

/// A forward with the (ptr, len) pairs of its new cookie values, when it has some.
fn forward_held(forward: Forward) -> Held {
    let pairs = abi::cookie_pairs(&forward);
    Held::Forward(forward, pairs)
}

fn deny_held(response: CfResponse, log: String) -> Result<Held, ()> {
    let json = serde_json::to_vec(&response).map_err(|_| ())?;
    Ok(Held::Deny(json, log))
}

/// No valid configuration: whatever `handle_event` answers then (500 `misconfigured`, and
/// the log line it writes), so the runtimes cannot drift apart. Rebuilding an event costs
/// a few allocations, paid only by a function that refuses every request anyway.
fn without_gate(view: &RequestView<'_>, now: u64) -> Result<Held, ()> {
    let mut headers = Headers::new();
    if !view.cookies.is_empty() {
        let entries = view.cookies.iter().map(|value| Header { key: None, value: (*value).to_string() }).collect();
        headers.insert("cookie".to_string(), entries);
    }
    let request = CfRequest {
        client_ip: view.client_ip.to_string(),
        headers,
        method: view.method.to_string(),
        querystring: view.querystring.map(ToString::to_string),
        uri: view.uri.to_string(),
        extra: Map::new(),
    };
    let config = CfConfig {
        distribution_id: view.distribution_id.to_string(),
        request_id: view.request_id.to_string(),
        ..CfConfig::default()
    };
    let event = Event { records: vec![Record { cf: CfRecord { config, request, response: None } }] };
    match crate::handle_event(GateState::Misconfigured, event, now) {
        Handled { result: HandlerResult::Respond(response), log } => deny_held(response, log.unwrap_or_default()),
        // Fail closed: a forward without a configuration is never passed on (and the event
        // built above is a viewer request, so nothing else can come back).
        Handled {
            result: HandlerResult::Forward(_) | HandlerResult::OriginResponse(_) | HandlerResult::Unchanged(_),
            ..
        } => Err(()),
    }
}

/// The `cache-control` for the origin's answer `status` to the forwarded request described
/// in the input region; see the module docs.
#[allow(unsafe_code)]
// SAFETY (no_mangle): a unique, crate-prefixed symbol taking and returning plain integers.
#[unsafe(no_mangle)]
pub extern "C" fn edgegate_origin_response(status: u32) -> u32 {
    let mut state = STATE.0.borrow_mut();
    let state = &mut *state;
    begin(state);
    if state.fault {
        panic!("edgegate: injected fault");
    }
    let status = u16::try_from(status).ok().filter(|s| (100..=999).contains(s));
    let region = &state.input[state.input_offset..];
    let Some(fields) = Fields::parse(region) else {
        return ERROR;
    };
    // Cookies play no part in an object's cache class.
    let view = RequestView { cookies: &[], ..fields.view() };
    let gate = match &state.gate {
        Some(Ok(gate)) => GateState::Ready(gate),
        _ => GateState::Misconfigured,
    };
    match origin_cache_control(gate, &view, status) {
        // The value lives in the gate, below the arena mark: valid for the instance's life.
        CacheHeader::Set(value) => {
            state.out = abi::text_output(value);
            SET
        }
        CacheHeader::Keep(log) => {
            state.out = abi::log_output(&log);
            state.held = Held::Text(log);
            KEEP
        }
    }
}

/// Writes `response(Reason::Internal, None)` as JSON to output words 0–1, so tests can
/// check that the constant `index.mjs` answers with after a trap is the same document.
#[allow(unsafe_code)]
// SAFETY (no_mangle): a unique, crate-prefixed symbol returning a plain integer.
#[unsafe(no_mangle)]
pub extern "C" fn edgegate_internal_response() -> u32 {
    let mut state = STATE.0.borrow_mut();
    let state = &mut *state;
    begin(state);
    let Ok(json) = serde_json::to_string(&response(Reason::Internal, None)) else {
        return ERROR;
    };
    state.out = abi::text_output(&json);
    let len = abi::len_word(json.len());
    state.held = Held::Text(json);
    len
}

/// Fault injection for the test suite: the next `edgegate_decide` panics, i.e. traps, as
/// any bug would. Only JavaScript holding the instance can call it; no request can.
#[allow(unsafe_code)]
// SAFETY (no_mangle): a unique, crate-prefixed symbol without arguments.
#[unsafe(no_mangle)]
pub extern "C" fn edgegate_fault() {
    STATE.0.borrow_mut().fault = true;
}
