//! # synack-sim
//!
//! synack's deterministic network simulator. Whole networks of
//! `synack-core` connections run in virtual time: every loss, reordering
//! and timeout follows from one seed, so any run can be replayed bit for
//! bit.
//!
//! - [`config`]: what to run — a bottleneck link (bandwidth, delay, a
//!   drop-tail, CoDel or FQ-CoDel queue, jitter, Bernoulli or Gilbert–Elliott loss,
//!   duplication, reordering, corruption, MTU), flows with per-flow RTTs
//!   and applications (bulk transfer, request/response, simultaneous
//!   close), scripted link events and targeted drops.
//! - [`sim`]: the engine — a virtual clock and an event queue driving
//!   [`host::Host`]s, each the core's `Endpoint` (the one the runtime
//!   adapters drive) with a clock and a capture, and [`link::Link`]s,
//!   bandwidth and a queue around the impairments of `synack_link::impair`.
//!   Segments cross links as real IPv4 packets, so captures open in
//!   Wireshark and corruption is caught by checksums.
//! - [`aqm`]: the bottleneck's active queue management, CoDel (RFC
//!   8289) and FQ-CoDel (RFC 8290).
//! - [`report`]: what comes out — a JSON [`report::Summary`], a metrics
//!   time series per flow, pcap captures per host.
//! - [`catalogue`]: named scenarios, each with a pass criterion.
//!
//! ```
//! use synack_sim::{SimConfig, FlowSpec, run};
//! let cfg = SimConfig { flows: vec![FlowSpec::bulk(100_000)], ..SimConfig::default() };
//! let report = run(cfg).unwrap();
//! assert!(report.summary.flows[0].data_intact);
//! ```

pub mod aqm;
pub mod capture;
pub mod catalogue;
pub mod config;
pub mod host;
pub mod link;
pub mod report;
pub mod sim;
pub mod stream;

pub use config::{
    AppSpec, Aqm, CaptureSpec, CcKind, CoDelParams, ConfigError, Fault, FlowSpec, FqCoDelParams,
    HostModel, ImpairmentConfig, LinkAction, LinkSpec, LossModel, Pause, QueueLimit, ScriptedEvent,
    SegmentMatch, SimConfig,
};
pub use report::{FlowReport, FlowSummary, Report, Sample, Summary};
pub use sim::{Simulation, run};
