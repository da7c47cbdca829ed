//! Test support shared by the in-crate AWS tests and `deploy/tests/aws_moto.rs` (which
//! includes this file by path): a real moto server per test, SDK settings for it, and tiny
//! deterministic bundles.

#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_lambda::config::{Credentials, SharedCredentialsProvider};

/// Where `tests/setup.sh` installs moto.
pub fn moto_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server")
}

/// A moto server on a free local port, killed when dropped.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    pub port: u16,
    pub endpoint: String,
    log: PathBuf,
}

impl MotoServer {
    /// Starts moto and waits until it answers. Panics, never skips, when moto is missing:
    /// a test that silently passes without its peer proves nothing.
    pub fn start() -> MotoServer {
        let binary = moto_binary();
        assert!(
            binary.exists(),
            "moto is not installed: {} is missing; run `bash tests/setup.sh` (or `make setup`) first",
            binary.display()
        );
        let mut last_error = String::new();
        // A port picked free can be taken by a parallel test before moto binds it.
        for _ in 0..3 {
            let port = free_port();
            let log = std::env::temp_dir().join(format!("edgegate-moto-{port}.log"));
            let log_file = std::fs::File::create(&log).expect("create moto log file");
            let child = Command::new(&binary)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                // AttachRolePolicy of AWSLambdaBasicExecutionRole needs AWS's managed policies.
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("clone log handle"))
                .stderr(log_file)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let mut server = MotoServer { child, port, endpoint: format!("http://127.0.0.1:{port}"), log };
            match server.wait_ready(Duration::from_secs(90)) {
                Ok(()) => return server,
                Err(e) => last_error = e,
            }
        }
        panic!("moto did not start: {last_error}");
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                return Err(format!("moto_server exited with {status}: {log}"));
            }
            if let Ok(response) = http(self.port, "POST", "/moto-api/reset")
                && response.starts_with("HTTP/1.1 200")
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("moto_server on port {} not ready after {timeout:?}", self.port))
    }

    /// Forgets every resource (`POST /moto-api/reset`).
    pub fn reset(&self) {
        let response = http(self.port, "POST", "/moto-api/reset").expect("moto reset");
        assert!(response.starts_with("HTTP/1.1 200"), "moto reset failed: {response}");
    }

    /// SDK settings that reach this server with test credentials, never real ones.
    pub fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "test",
            )))
            .build()
    }

    /// Environment for running the `edgegate` binary against this server: test credentials,
    /// the endpoint, and no way to reach a real profile or instance metadata.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", "/nonexistent/edgegate-test-aws-config".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/edgegate-test-aws-credentials".into()),
        ]
    }

    /// The `edgegate` binary at `binary` set up to reach this server and nothing else (the
    /// integration tests pass `env!("CARGO_BIN_EXE_edgegate")`).
    pub fn edgegate_command(&self, binary: &str) -> Command {
        let mut command = Command::new(binary);
        for name in Self::ENV_REMOVE {
            command.env_remove(name);
        }
        command.envs(self.env());
        command
    }

    /// Variables that must not leak from the developer's shell into a test run.
    pub const ENV_REMOVE: &'static [&'static str] =
        &["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"];
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

fn http(port: u16, method: &str, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

/// One run of the `edgegate` binary: exit code and both streams as text.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(output: std::process::Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "edgegate failed\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", self.stdout, self.stderr))
    }
}

/// A tiny deployment zip whose bytes depend only on `marker`.
pub fn test_zip(marker: &str) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    writer.start_file("index.mjs", options).expect("zip entry");
    writer.write_all(format!("export const handler = async (e) => e; // {marker}\n").as_bytes()).expect("zip write");
    writer.finish().expect("zip finish").into_inner()
}
