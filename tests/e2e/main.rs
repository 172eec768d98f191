//! End-to-end tests of the binary against the built-in simulators (127.0.0.1 only), one test
//! binary; the shared helpers are here, the tests in modules by subject.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod config;
mod demo;
mod examples;
mod kafka;
mod replay;
mod secrets;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_collateral-tracker"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.env_remove("RUST_LOG");
    c
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/configs")
        .join(name)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// GETs `path` from 127.0.0.1:`port`, reading for at most `read_for` (SSE never ends).
fn http_get(port: u16, path: &str, read_for: std::time::Duration) -> String {
    http_get_with(port, path, read_for, "")
}

/// A GET with `headers` (each line ending in `\r\n`).
fn http_get_with(port: u16, path: &str, read_for: std::time::Duration, headers: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}\r\n"
    )
    .unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let t0 = std::time::Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    while t0.elapsed() < read_for {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => continue,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}
