//! What synack's test suites share: the machine they run on, the bytes
//! they send ([`pattern`]), and the checks every runtime adapter must
//! pass ([`readiness`]).
//!
//! Some tests need root, `/dev/net/tun`, network namespaces or an outside
//! tool (`tshark`, `tcpdump`, `ip`, `tc`). The policy is written once,
//! here: without a prerequisite a test prints why and passes having
//! checked nothing, **except under CI** (`CI` set to anything but
//! `false`/`0`), where the missing prerequisite fails the test. CI runs as
//! root with everything `scripts/install.sh` installs, so a skip there
//! would hide a broken set-up.
//!
//! ```no_run
//! use synack_testkit::{Need, require};
//!
//! if !require("my_case", &[Need::Root, Need::Tool("tshark")]) {
//!     return; // printed why; never happens under CI
//! }
//! ```

use std::process::{Command, Stdio};

pub mod readiness;

/// Something a test needs from the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// The effective user is root (network namespaces, TUN devices,
    /// live captures).
    Root,
    /// `/dev/net/tun` exists.
    TunDevice,
    /// The tool runs (`tool --version`, or `tool -V` for iproute2's).
    Tool(&'static str),
}

impl Need {
    /// Why this need is not met here, if it is not.
    pub fn missing(self) -> Option<String> {
        match self {
            Need::Root if !is_root() => Some("not root".into()),
            Need::TunDevice if !std::path::Path::new("/dev/net/tun").exists() => {
                Some("no /dev/net/tun".into())
            }
            Need::Tool(tool) if !tool_runs(tool) => Some(format!(
                "`{tool}` is not installed (bash scripts/install.sh installs it)"
            )),
            _ => None,
        }
    }
}

/// Whether the tests run under CI, where skipping is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The first of `needs` not met here, as a sentence.
pub fn missing(needs: &[Need]) -> Option<String> {
    needs.iter().find_map(|need| need.missing())
}

/// Checks `needs` for the test `case`: `true` to go on; `false` after
/// printing why the case is skipped. Under CI it panics instead of
/// skipping.
pub fn require(case: &str, needs: &[Need]) -> bool {
    match missing(needs) {
        None => true,
        Some(why) => {
            skip(case, &why);
            false
        }
    }
}

/// Skips `case` for the reason `why` (printed), or fails it under CI. For
/// a prerequisite found missing only by trying (a kernel module that does
/// not load, a namespace that cannot be made).
pub fn skip(case: &str, why: &str) {
    assert!(!in_ci(), "{case} cannot run under CI: {why}");
    eprintln!("[skipped] {case}: {why}");
}

/// Whether the effective user is root, read from `/proc` (no `unsafe`
/// call to `geteuid`).
pub fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        == Some("0")
}

/// Whether `tool` starts. iproute2's tools (`ip`, `ss`, `tc`) take `-V`;
/// the rest take `--version`.
pub fn tool_runs(tool: &str) -> bool {
    let flag = if matches!(tool, "ip" | "ss" | "tc") {
        "-V"
    } else {
        "--version"
    };
    Command::new(tool)
        .arg(flag)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A network namespace the test made, deleted when dropped.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Makes the namespace `name` (needs root and `ip`).
    pub fn new(name: &str) -> std::io::Result<Netns> {
        let status = Command::new("ip").args(["netns", "add", name]).status()?;
        if !status.success() {
            return Err(std::io::Error::other(format!(
                "`ip netns add {name}` failed: {status}"
            )));
        }
        Ok(Netns { name: name.into() })
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).arg(program);
        cmd
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// The environment variable that tells a test binary it was re-run inside
/// a namespace by [`in_private_netns`].
pub const INSIDE_NETNS: &str = "SYNACK_TEST_INSIDE_NETNS";

/// Whether this process is the re-run that [`in_private_netns`] started.
/// The helper test it names returns at once when this is false, so a
/// plain `cargo test` never runs it outside the namespace.
pub fn inside_private_netns() -> bool {
    std::env::var_os(INSIDE_NETNS).is_some()
}

/// Runs the test `helper_test` of the current test binary inside a network
/// namespace made for it (so its TUN device, addresses and routes exist
/// only there), waits at most `timeout` and fails unless it passed. The
/// namespace is deleted afterwards, also on failure. Needs root, a TUN
/// device and `ip`: see [`require`] for what happens without them.
pub fn in_private_netns(case: &str, helper_test: &str, timeout: std::time::Duration) {
    use std::io::Read;
    use std::time::Instant;

    if !require(case, &[Need::Root, Need::TunDevice, Need::Tool("ip")]) {
        return;
    }
    let ns = match Netns::new(&format!("synack-{}-{}", std::process::id(), short(case))) {
        Ok(ns) => ns,
        Err(e) => return skip(case, &format!("cannot make a network namespace: {e}")),
    };
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = ns
        .command(exe)
        .args(["--exact", helper_test, "--nocapture", "--test-threads=1"])
        .env(INSIDE_NETNS, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the helper test in the namespace");
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the helper test") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{case}: the helper test did not finish within {timeout:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut out);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    // libtest prints "1 passed" only when the filter matched and the test
    // ran: a renamed helper must not pass by running nothing.
    assert!(
        status.success() && out.contains("1 passed"),
        "{case}: the helper test failed ({status}):\n{out}\n{err}"
    );
}

/// A namespace-safe short tag for `case` (names are limited in length).
fn short(case: &str) -> String {
    case.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect()
}

/// `len` seeded test bytes of stream `id`: the same for the same `id`,
/// different across ids, from the project's one generator
/// (`synack_link::impair::Rng`).
pub fn pattern(id: u64, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    synack_link::impair::Rng::new(id).fill(&mut bytes);
    bytes
}

/// Runs `command` with its stdout a pipe whose reader has already gone (as
/// `command | head` once `head` has its lines): its exit status and what
/// it wrote on stderr.
pub fn run_with_closed_stdout(command: &mut Command) -> (std::process::ExitStatus, String) {
    use std::io::Read;
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    drop(child.stdout.take());
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    let status = child.wait().expect("the command ends");
    (status, stderr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_that_does_not_exist_is_missing() {
        let why = Need::Tool("synack-no-such-tool").missing().unwrap();
        assert!(why.contains("synack-no-such-tool"), "{why}");
        assert_eq!(missing(&[Need::Tool("synack-no-such-tool")]), Some(why));
    }

    #[test]
    fn patterns_repeat_per_id_and_differ_across_ids() {
        assert_eq!(pattern(7, 1000), pattern(7, 1000));
        assert_eq!(pattern(7, 1000)[..10], pattern(7, 10)[..]);
        assert_ne!(pattern(7, 1000), pattern(8, 1000));
    }

    #[test]
    fn nothing_needed_is_never_missing() {
        assert_eq!(missing(&[]), None);
        assert!(require("nothing", &[]));
    }
}
