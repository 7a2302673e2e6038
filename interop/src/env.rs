//! What the suite needs from the machine, and what to do without it.
//!
//! The tests need root (network namespaces, TUN devices), `/dev/net/tun`,
//! and the tools `ip`, `ss`, `sysctl`, `tcpdump` and `tshark`. Without them a test
//! prints why and returns early, except under CI (`CI` set to anything
//! but `false`/`0`), where a missing prerequisite fails the test: CI runs
//! as root with the tools installed, so a skip there would hide a broken
//! set-up.

use std::process::{Command, Stdio};

/// The tools the suite runs (`sysctl` configures every namespace).
pub const TOOLS: [(&str, &str); 5] = [
    ("ip", "-V"),
    ("ss", "-V"),
    ("sysctl", "--version"),
    ("tcpdump", "--version"),
    ("tshark", "--version"),
];

/// Why the suite cannot run here, if it cannot.
pub fn missing() -> Option<String> {
    // The effective uid, from /proc (no unsafe geteuid call).
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or("");
    if euid != "0" {
        return Some("not root (network namespaces and TUN devices need it)".into());
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Some("no /dev/net/tun".into());
    }
    for (tool, arg) in TOOLS {
        let ran = Command::new(tool)
            .arg(arg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if ran.is_err() {
            return Some(format!(
                "`{tool}` is not installed (bash scripts/install.sh installs it)"
            ));
        }
    }
    None
}

/// True under CI, where skipping is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Checks the prerequisites for test `case`: `true` to go on; `false`
/// (after printing why) to skip. Panics instead of skipping under CI.
pub fn ready(case: &str) -> bool {
    match missing() {
        None => true,
        Some(why) if in_ci() => {
            panic!("interop test {case} cannot run under CI: {why}")
        }
        Some(why) => {
            eprintln!("[interop] {case}: skipped: {why}");
            false
        }
    }
}
