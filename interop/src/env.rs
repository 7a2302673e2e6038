//! What the suite needs from the machine, and what to do without it.
//!
//! The tests need root (network namespaces, TUN devices), `/dev/net/tun`,
//! and the tools `ip`, `ss`, `sysctl`, `tcpdump` and `tshark`. Without them a test
//! prints why and returns early, except under CI (`CI` set to anything
//! but `false`/`0`), where a missing prerequisite fails the test: CI runs
//! as root with the tools installed, so a skip there would hide a broken
//! set-up.

use synack_testkit::Need;

pub use synack_testkit::in_ci;

/// What the suite needs: root, a TUN device, and the tools it runs
/// (`sysctl` configures every namespace).
pub const NEEDS: [Need; 7] = [
    Need::Root,
    Need::TunDevice,
    Need::Tool("ip"),
    Need::Tool("ss"),
    Need::Tool("sysctl"),
    Need::Tool("tcpdump"),
    Need::Tool("tshark"),
];

/// Why the suite cannot run here, if it cannot.
pub fn missing() -> Option<String> {
    synack_testkit::missing(&NEEDS)
}

/// Checks the prerequisites for test `case`: `true` to go on; `false`
/// (after printing why) to skip. Panics instead of skipping under CI.
pub fn ready(case: &str) -> bool {
    synack_testkit::require(case, &NEEDS)
}
