//! # synack-interop
//!
//! synack against the Linux kernel's TCP. Every test makes a network
//! namespace of its own with a TUN device: the kernel's TCP sits on one
//! side, a synack stack (`synack-tokio`) reads and writes the device on
//! the other. Each test captures the device with tcpdump and has tshark
//! judge the capture: no malformed packets, no bad checksums, no expert
//! errors; retransmissions, out-of-order segments, zero windows and the
//! like are counted and printed.
//!
//! - [`mod@env`]: prerequisites (root, `/dev/net/tun`, `ip`, `ss`, `tcpdump`,
//!   `tshark`); skip with the reason, or fail under CI.
//! - [`netns`]: namespaces deleted on drop; threads enter them with
//!   `setns`.
//! - [`capture`]: tcpdump inside a namespace, started before the traffic
//!   and stopped cleanly.
//! - [`verdict`]: tshark's verdict on any capture (the simulator's too).
//! - [`pattern`]: seeded byte streams, checked byte for byte.
//! - [`ss`]: the kernel's view of a connection (`ss -tni`).
//! - [`lab`]: one case end to end: namespace, TUN stack, capture, verdict.
//! - [`mark`]: a link that marks ECN-capable packets Congestion
//!   Experienced, standing in for the AQM qdisc the kernel lacks.
//! - [`topo`]: the multi-namespace set-ups: a bottleneck shared by a
//!   kernel flow and a synack flow, and a userspace relay between two TUN
//!   devices for kernel↔kernel baselines.

pub mod capture;
pub mod env;
pub mod lab;
pub mod mark;
pub mod netns;
pub mod pattern;
pub mod ss;
pub mod topo;
pub mod verdict;
