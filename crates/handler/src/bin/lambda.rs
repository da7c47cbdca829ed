//! `edgegate-lambda`: the viewer-request gate and the origin-response cache header as a
//! native `lambda_runtime` binary, for regular Lambda (`provided.al2023`) and local Runtime
//! API emulators (`cargo lambda watch`). Lambda@Edge itself cannot run it (Node.js and
//! Python only) and runs the same code compiled to WebAssembly instead; both go through
//! `edgegate_handler::handle_event`, which dispatches on `cf.config.eventType`.
//!
//! Cold start: the configuration is loaded once, from the first of
//!
//! 1. the file named by `EDGEGATE_CONFIG`, when that variable is set (then only that
//!    file: a missing one is an error, never a reason to look elsewhere);
//! 2. `edgegate.json` beside the executable (a `bootstrap` in the deployment zip);
//! 3. `/var/task/edgegate.json` (Lambda's code directory, for a binary in a subfolder);
//! 4. `edgegate.json` in the current directory.
//!
//! The first file that exists is the configuration; an invalid one is not skipped in
//! favour of a later candidate, so a broken deployment is noticed rather than masked.
//! Missing or invalid: one log line at start naming the problem (never a secret), then
//! every viewer request is answered 500 `misconfigured` and every origin response passes
//! unchanged (with a log line). The gate never fails open; a file that exists is never
//! turned into an error.
//!
//! Each decision other than a plain forward prints its one JSON log line to stdout.
//!
//! Test clock: built with `--features test-clock` in a debug build, `EDGEGATE_NOW=<unix
//! seconds>` replaces the system clock, so the fixed-time fixtures can run under the
//! emulator (`tests/e2e/25-cargo-lambda.sh`). A release build with that feature does not
//! compile, and without the feature the variable is ignored: no deployable artifact can
//! have its clock set from outside.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> Result<(), lambda_runtime::Error> {
    native::main()
}

#[cfg(all(feature = "test-clock", not(debug_assertions)))]
compile_error!("the `test-clock` feature is for debug test builds only: a release build must read the real clock");

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;
    use std::time::{SystemTime, UNIX_EPOCH};

    use edgegate_handler::event::HandlerResult;
    use edgegate_handler::{
        Gate, GateState, Handled, fault, gate_from_json, handle_event_json, internal, origin_response_of,
    };
    use lambda_runtime::{Error, LambdaEvent, service_fn};
    use serde_json::value::RawValue;
    use serde_json::{Value, json};

    /// Environment variable naming the configuration file (checked first).
    const CONFIG_ENV: &str = "EDGEGATE_CONFIG";
    /// File name looked for beside the executable, in `/var/task` and in the current directory.
    const CONFIG_FILE: &str = "edgegate.json";
    /// Lambda's code directory.
    const LAMBDA_TASK_ROOT: &str = "/var/task";
    /// Test-clock variable (honoured only with the `test-clock` feature in debug builds).
    const NOW_ENV: &str = "EDGEGATE_NOW";

    /// Everything a request needs, prepared once per cold start.
    struct State {
        gate: Result<Gate, ()>,
        clock: Clock,
    }

    pub fn main() -> Result<(), Error> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let state = Arc::new(State::cold_start());
            // The event as text, read by `handle_event_json` straight into the event types:
            // a `Value` first would double the work (a 28 KB event of 200 cookie headers
            // took 92 µs that way, 40 µs read directly; `make bench`, native handler).
            lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
                let state = Arc::clone(&state);
                async move { state.invoke(event.payload.get()) }
            }))
            .await
        })
    }

    impl State {
        fn cold_start() -> State {
            let clock = Clock::from_env();
            let gate = match (&clock, load_config()) {
                (Clock::Invalid(problem), _) => {
                    log_start(json!({"edgegate": "misconfigured: every request is answered 500", "error": problem}));
                    Err(())
                }
                (_, Ok((path, gate))) => {
                    log_start(json!({
                        "edgegate": "configuration loaded",
                        "path": path.display().to_string(),
                        "signing_key": gate.signing_key_id(),
                    }));
                    Ok(gate)
                }
                (_, Err(problem)) => {
                    log_start(json!({"edgegate": "misconfigured: every request is answered 500", "error": problem}));
                    Err(())
                }
            };
            if let Clock::Fixed(now) = clock {
                log_start(json!({"edgegate": "TEST CLOCK: EDGEGATE_NOW replaces the system clock", "now": now}));
            }
            State { gate, clock }
        }

        /// One invocation. Never an `Err` for a request we could not judge: that would be
        /// a runtime error instead of the 500 `internal` SPEC §5 asks for (or, for an
        /// origin response, the origin's answer unchanged).
        fn invoke(&self, payload: &str) -> Result<HandlerResult, Error> {
            self.invoke_with(payload, handle_event_json)
        }

        /// [`State::invoke`] with the event handling passed in, so a test can make it panic
        /// and see what the runtime answers.
        fn invoke_with(
            &self,
            payload: &str,
            handle: impl FnOnce(GateState<'_>, &str, u64) -> Handled,
        ) -> Result<HandlerResult, Error> {
            // The faults need the event as a `Value`; only they parse one.
            let as_value = || serde_json::from_str::<Value>(payload).ok();
            let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let now = match (&self.gate, self.clock.now()) {
                    // Misconfigured: the answer does not depend on the time.
                    (Err(()), _) => 0,
                    (Ok(_), Some(now)) => now,
                    // An origin response's cache header does not depend on it either.
                    (Ok(_), None) if as_value().as_ref().and_then(origin_response_of).is_some() => 0,
                    (Ok(_), None) => return internal(),
                };
                handle(GateState::of(&self.gate), payload, now)
            }))
            // The event is still there: an origin response keeps the origin's answer.
            .unwrap_or_else(|_| as_value().as_ref().map_or_else(internal, fault));
            if let Some(line) = &handled.log {
                println!("{line}");
            }
            Ok(handled.result)
        }
    }

    fn log_start(line: Value) {
        println!("{line}");
    }

    /// Finds and loads the configuration (order in the module docs). The error text names
    /// the file and the field, never a secret (`gate_from_json` guarantees the latter).
    fn load_config() -> Result<(PathBuf, Gate), String> {
        load_config_from(std::env::var_os(CONFIG_ENV).map(PathBuf::from), &config_candidates())
    }

    /// [`load_config`] with its inputs passed in: the `EDGEGATE_CONFIG` value and the
    /// candidate files, in order.
    fn load_config_from(from_env: Option<PathBuf>, candidates: &[PathBuf]) -> Result<(PathBuf, Gate), String> {
        let path = match from_env {
            Some(path) => path,
            None => match candidates.iter().find(|p| p.is_file()) {
                Some(path) => path.clone(),
                None => {
                    let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
                    return Err(format!("no {CONFIG_FILE} found (tried {CONFIG_ENV}, {})", tried.join(", ")));
                }
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let gate = gate_from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((path, gate))
    }

    fn config_candidates() -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Some(dir) = std::env::current_exe().ok().as_deref().and_then(Path::parent) {
            out.push(dir.join(CONFIG_FILE));
        }
        out.push(Path::new(LAMBDA_TASK_ROOT).join(CONFIG_FILE));
        out.push(PathBuf::from(CONFIG_FILE));
        out
    }

    /// Where `now` comes from.
    // Without the test clock only `System` is ever built; the other arms stay compiled so
    // both builds share one `now()`.
    #[cfg_attr(not(all(feature = "test-clock", debug_assertions)), allow(dead_code))]
    enum Clock {
        /// The system clock: every deployable build.
        System,
        /// `EDGEGATE_NOW` (test-clock debug builds only).
        Fixed(u64),
        /// `EDGEGATE_NOW` set to something that is not Unix seconds: refuse to guess a time.
        Invalid(String),
    }

    impl Clock {
        #[cfg(all(feature = "test-clock", debug_assertions))]
        fn from_env() -> Clock {
            match std::env::var(NOW_ENV) {
                Err(std::env::VarError::NotPresent) => Clock::System,
                Ok(text) => match text.trim().parse::<u64>() {
                    Ok(now) => Clock::Fixed(now),
                    Err(_) => Clock::Invalid(format!("{NOW_ENV} is not Unix seconds")),
                },
                Err(std::env::VarError::NotUnicode(_)) => Clock::Invalid(format!("{NOW_ENV} is not Unix seconds")),
            }
        }

        #[cfg(not(all(feature = "test-clock", debug_assertions)))]
        fn from_env() -> Clock {
            if std::env::var_os(NOW_ENV).is_some() {
                // Said out loud, so that a test run against the wrong build is easy to spot.
                log_start(json!({"edgegate": format!("{NOW_ENV} ignored: this build reads the system clock")}));
            }
            Clock::System
        }

        /// Unix seconds, or `None` when the system clock reads before 1970: `now = 0` would
        /// make every token without `st` look unexpired, so that is an internal fault.
        fn now(&self) -> Option<u64> {
            match self {
                Clock::System => SystemTime::now().duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs()),
                Clock::Fixed(now) => Some(*now),
                Clock::Invalid(_) => None,
            }
        }
    }

    #[cfg(test)]
    #[allow(clippy::unwrap_used, clippy::panic)]
    mod tests {
        use super::*;

        const CONFIG: &str = include_str!("../../../../fixtures/config/edgegate.json");
        const VIEWER: &str = include_str!("../../../../fixtures/events/query-token.json");
        const ORIGIN: &str = include_str!("../../../../fixtures/events/origin-response/package-deb.json");

        fn ready() -> State {
            State { gate: Ok(gate_from_json(CONFIG).unwrap()), clock: Clock::Fixed(1_795_500_000) }
        }

        /// What the runtime sends back, as JSON.
        fn answered(result: Result<HandlerResult, Error>) -> Value {
            serde_json::to_value(result.unwrap()).unwrap()
        }

        #[test]
        fn a_panic_while_judging_a_viewer_request_is_500_internal() {
            let answer = answered(ready().invoke_with(VIEWER, |_, _, _| panic!("injected fault")));
            assert_eq!(answer["status"], "500", "{answer}");
            assert_eq!(answer["headers"]["x-edgegate-reason"][0]["value"], "internal", "{answer}");
        }

        #[test]
        fn a_panic_on_an_origin_response_passes_the_origins_answer_unchanged() {
            let event: Value = serde_json::from_str(ORIGIN).unwrap();
            let original = event["Records"][0]["cf"]["response"].clone();
            let answer = answered(ready().invoke_with(ORIGIN, |_, _, _| panic!("injected fault")));
            assert_eq!(answer, original);
        }

        #[test]
        fn without_a_fault_the_same_state_judges_normally() {
            let answer = answered(ready().invoke(VIEWER));
            assert!(answer.get("status").is_none(), "forwarded: {answer}");
            assert_eq!(answer["uri"], "/acme/main/debian/dists/bookworm/InRelease", "{answer}");
            let misconfigured = State { gate: Err(()), clock: Clock::System };
            let answer = answered(misconfigured.invoke(VIEWER));
            assert_eq!(answer["headers"]["x-edgegate-reason"][0]["value"], "misconfigured", "{answer}");
        }

        #[test]
        fn config_lookup_order() {
            let dir = std::env::temp_dir().join(format!("edgegate-lambda-config-{}", std::process::id()));
            let (first, second, third) = (dir.join("a.json"), dir.join("b.json"), dir.join("c.json"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&second, CONFIG).unwrap();
            std::fs::write(&third, "{ not json").unwrap();
            let candidates = [first.clone(), second.clone(), third.clone()];

            // The first candidate that exists wins; later ones are not read.
            assert_eq!(load_config_from(None, &candidates).unwrap().0, second);
            // EDGEGATE_CONFIG is used alone: a missing file is an error naming it, never a
            // reason to fall back to a candidate that exists.
            let error = load_config_from(Some(first.clone()), &candidates).unwrap_err();
            assert!(error.contains("a.json"), "{error}");
            // An invalid file is not skipped in favour of a later valid one.
            std::fs::write(&first, "{ not json").unwrap();
            let error = load_config_from(None, &candidates).unwrap_err();
            assert!(error.contains("a.json"), "{error}");
            // None at all: the error lists what was tried.
            let error = load_config_from(None, &[dir.join("x.json")]).unwrap_err();
            assert!(error.contains("x.json") && error.contains(CONFIG_ENV), "{error}");
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
