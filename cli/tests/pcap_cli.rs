//! `synack pcap` as a user meets it: the committed capture, both output
//! styles, and every way of failing (which must be one line on stderr and
//! exit status 2, never a panic). No tshark needed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn handshake() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures/handshake.pcap")
}

/// Runs `synack ARGS`, killing it if it takes more than 30 s.
fn synack(args: &[&std::ffi::OsStr]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_synack"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Outputs here are small, so the pipes cannot fill up before exit.
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("synack {args:?} did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "synack panicked: {stderr}");
    out
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

/// A file in the temp dir, removed when dropped.
struct TempFile(PathBuf);

impl std::ops::Deref for TempFile {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn scratch_file(name: &str, bytes: &[u8]) -> TempFile {
    let path = std::env::temp_dir().join(format!("synack-pcap-cli-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    TempFile(path)
}

/// Exit status 2, nothing on stdout, and exactly one stderr line that
/// starts with `synack: cannot read PATH: ` and contains `reason`.
fn assert_read_failure(path: &Path, reason: &str) {
    let out = synack(&[os("pcap"), path.as_os_str()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one stderr line, got {stderr:?}");
    let prefix = format!("synack: cannot read {}: ", path.display());
    assert!(lines[0].starts_with(&prefix), "{stderr:?}");
    assert!(lines[0].contains(reason), "{stderr:?} lacks {reason:?}");
}

#[test]
fn committed_capture_starts_with_a_linux_syn() {
    let out = synack(&[os("pcap"), os("--json"), handshake().as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let segments: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(segments.len() >= 8, "{stdout}");
    let syn = &segments[0];
    assert_eq!(syn["frame"], 1);
    assert_eq!(syn["flags"], serde_json::json!(["SYN"]));
    assert!(syn.get("ack").is_none(), "no ack without the ACK flag");
    let o = &syn["options"];
    assert!(o["mss"].as_u64().is_some(), "{syn}");
    assert!(o["wscale"].as_u64().is_some(), "{syn}");
    assert_eq!(o["sack_permitted"], true, "{syn}");
    assert!(o["ts_val"].as_u64().is_some(), "{syn}");
    assert_eq!(o["ts_ecr"], 0, "{syn}");
    // Data both ways, a FIN from each side; every object has the keys.
    let fins = segments
        .iter()
        .filter(|s| s["flags"].as_array().unwrap().contains(&"FIN".into()))
        .count();
    assert_eq!(fins, 2);
    for s in &segments {
        for key in [
            "frame",
            "src",
            "dst",
            "seq",
            "flags",
            "window",
            "urgent",
            "payload_len",
            "checksum_ok",
            "options",
        ] {
            assert!(s.get(key).is_some(), "{s} lacks {key}");
        }
        assert!(s["options"].is_object());
    }
    let data: u64 = segments
        .iter()
        .map(|s| s["payload_len"].as_u64().unwrap())
        .sum();
    assert_eq!(data, 64 + 128);
}

#[test]
fn text_output_is_tcpdump_like() {
    let out = synack(&[os("pcap"), handshake().as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let first = stdout.lines().next().unwrap();
    for part in [
        " IP 127.0.0.1.",
        "Flags [S], seq ",
        "options [mss ",
        "sackOK",
        "TS val ",
        "wscale ",
        "length 0",
    ] {
        assert!(first.contains(part), "{first:?} lacks {part:?}");
    }
    let second = stdout.lines().nth(1).unwrap();
    assert!(
        second.contains("Flags [S.], seq ") && second.contains(", ack "),
        "{second}"
    );
}

#[test]
fn malformed_segments_are_reported_and_decoding_goes_on() {
    let mut bytes = std::fs::read(handshake()).unwrap();
    // pcap header 24, record header 16, Ethernet 14, IPv4 20: the first
    // segment's data offset byte is at 24 + 16 + 14 + 20 + 12.
    bytes[86] = 0x40 | (bytes[86] & 0x0f);
    let path = scratch_file("offset4.pcap", &bytes);
    let out = synack(&[os("pcap"), path.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some("FRAME 1: error: bad TCP data offset 4 (must be 5..=15 words and within the segment)")
    );
    assert!(lines.next().unwrap().contains("Flags [S.]"));

    let out = synack(&[os("pcap"), os("--json"), path.as_os_str()]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let first: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(
        first,
        serde_json::json!({
            "frame": 1,
            "error": "bad TCP data offset 4 (must be 5..=15 words and within the segment)"
        })
    );
    assert_eq!(stdout.lines().count(), 10);
}

#[test]
fn missing_file() {
    let path = std::env::temp_dir().join("synack-no-such-capture.pcap");
    assert_read_failure(&path, "No such file");
}

#[test]
fn not_a_capture() {
    let path = scratch_file(
        "notes.txt",
        b"these are not the packets you are looking for\n",
    );
    assert_read_failure(&path, "not a pcap or pcapng capture");
    let path = scratch_file("empty.pcap", b"");
    assert_read_failure(&path, "not a pcap or pcapng capture");
    let dir = std::env::temp_dir();
    assert_read_failure(&dir, "directory");
}

#[test]
fn capture_cut_in_the_middle_of_a_packet() {
    let bytes = std::fs::read(handshake()).unwrap();
    let path = scratch_file("cut.pcap", &bytes[..bytes.len() - 10]);
    let out = synack(&[os("pcap"), path.as_os_str()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // Everything before the cut is still printed.
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 9);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("ends in the middle"), "{stderr}");
}

#[test]
fn bad_arguments_are_clap_errors() {
    for args in [
        &[os("pcap")][..],
        &[os("pcap"), os("--bogus"), handshake().as_os_str()][..],
        &[os("frobnicate")][..],
    ] {
        let out = synack(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.starts_with("error:"), "{stderr}");
    }
}

#[test]
fn help_documents_the_json_keys() {
    let out = synack(&[os("pcap"), os("--help")]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    for key in [
        "payload_len",
        "checksum_ok",
        "sack_permitted",
        "only when ACK is set",
        "{}",
    ] {
        assert!(help.contains(key), "--help lacks {key:?}");
    }
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    let (status, stderr) = synack_testkit::run_with_closed_stdout(
        Command::new(env!("CARGO_BIN_EXE_synack"))
            .arg("pcap")
            .arg(handshake()),
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.code(), Some(0), "{stderr}");
}
