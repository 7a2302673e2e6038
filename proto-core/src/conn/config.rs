//! What a connection is configured with.

use crate::rtt::{RttConfig, RttConfigError};
use crate::time::Duration;

/// Settings of one connection. `Default` gives Linux-like values; change
/// the fields you need on it, then check the result with
/// [`Config::validate`] (every constructor of a connection does):
///
/// ```
/// # use synack_core::{Config, Duration};
/// let mut config = Config::default();
/// config.mtu = 1400;
/// config.min_rto = Duration::from_millis(300);
/// assert_eq!(config.validate(), Ok(()));
/// ```
///
/// The struct is `#[non_exhaustive]` so that new settings are not breaking
/// changes; it cannot be built with a struct literal outside this crate.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The largest IP packet the path carries; the MSS we announce is this
    /// less the IP and TCP headers (40 bytes for IPv4, 60 for IPv6).
    pub mtu: usize,
    /// Send buffer size in bytes: how much written data may wait for
    /// acknowledgment.
    pub send_buffer: usize,
    /// Initial receive buffer size in bytes: the window we start with.
    pub recv_buffer: usize,
    /// The receive buffer may grow to this size by auto-tuning; it also
    /// fixes the window scale we offer (RFC 7323 §2.2).
    pub recv_buffer_max: usize,
    /// The smallest MSS we send with, whatever the peer announces (RFC
    /// 9293 §3.7.1 leaves the floor to the implementation). Without one, a
    /// peer announcing MSS 1 makes us send one byte per segment: 40–60
    /// bytes of headers per byte and a thousand times the per-packet work
    /// (the attack behind CVE-2019-11479). Linux's `tcp_min_snd_mss`: 48,
    /// which still leaves 8 bytes of payload after 40 bytes of options.
    /// At least [`Config::MIN_SEND_MSS_FLOOR`]. Never raises the MSS above
    /// what our own MTU allows.
    pub min_send_mss: u16,
    /// Offer window scaling (RFC 7323 §2).
    pub window_scaling: bool,
    /// Offer selective acknowledgments (RFC 2018).
    pub sack: bool,
    /// Offer timestamps (RFC 7323 §3).
    pub timestamps: bool,
    /// Nagle's algorithm (RFC 896): hold small segments while data is
    /// unacknowledged. On by default; `set_nodelay(true)` turns it off.
    pub nagle: bool,
    /// Longest delay of an acknowledgment (RFC 9293 §3.8.6.3 requires
    /// less than 0.5 s). Linux's minimum is 40 ms.
    pub delayed_ack: Duration,
    /// Quick-ack mode: at connection start, and when data arrives after
    /// none came for longer than the retransmission timeout, up to this
    /// many data segments are acknowledged at once instead of waiting for
    /// `delayed_ack`, so a peer in slow start or sending one small
    /// segment under Nagle is not held back by our delay. The quota is
    /// min(this, max(2, window / (2·MSS))), as Linux sets it (its
    /// `TCP_MAX_QUICKACKS` is 16, the default here). 0 turns it off.
    pub max_quick_acks: u8,
    /// Retransmission timeout before any RTT sample (RFC 6298 §2.1).
    pub initial_rto: Duration,
    /// Lower bound of the retransmission timeout. RFC 6298 §2.4 says 1 s;
    /// Linux uses 200 ms, as does this default.
    pub min_rto: Duration,
    /// Upper bound of the retransmission timeout (RFC 6298 §2.5: at least
    /// 60 s). Linux uses 120 s.
    pub max_rto: Duration,
    /// Maximum segment lifetime; TIME-WAIT lasts twice this (RFC 9293
    /// §3.4.2 says 2 minutes; Linux keeps TIME-WAIT for 60 s, i.e. MSL 30 s).
    pub msl: Duration,
    /// Retransmissions of a SYN or SYN-ACK before the attempt fails.
    /// RFC 9293 §3.8.3 (MUST-23) wants at least 3 minutes of retrying: 7
    /// retries from a 1 s RTO give up after 255 s (Linux's 6 give 127 s).
    pub max_syn_retries: u32,
    /// Retransmissions of data before the connection fails as timed out
    /// (RFC 9293 §3.8.3 R2; Linux `tcp_retries2`: 15).
    pub max_retries: u32,
    /// After `close()`, how long FIN-WAIT-2 may wait for the peer's FIN
    /// before the connection is dropped (Linux `tcp_fin_timeout`: 60 s).
    /// Not applied after `shutdown()`, where the application still reads.
    pub fin_wait2_timeout: Duration,
    /// Fail the connection when sent data stays unacknowledged this long
    /// (RFC 5482 user timeout). `None`: only `max_retries` applies.
    pub user_timeout: Option<Duration>,
    /// Keepalive (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6): off by default.
    // RFC 9293 §3.8.4 (MUST-24, MUST-25): chosen per connection, off by
    // default.
    pub keepalive: Option<Keepalive>,
    /// At most this many challenge ACKs (RFC 5961 §7) per second.
    pub challenge_ack_limit: u32,
    /// The congestion controller (NewReno by default).
    pub congestion: crate::cc::CcAlgorithm,
    /// Pace segments at a rate derived from cwnd and SRTT.
    pub pacing: bool,
    /// Detect spurious retransmission timeouts with F-RTO (RFC 5682).
    pub frto: bool,
    /// Explicit Congestion Notification (RFC 3168): whether our SYNs ask
    /// for it and whether we agree when a peer asks. By default we agree
    /// but do not ask, as Linux (`net.ipv4.tcp_ecn = 2`).
    pub ecn: crate::ecn::EcnMode,
    /// Verify checksums of arriving segments and fill them in on emitted
    /// ones. Hosts whose link already protects the bytes may skip it.
    pub checksums: crate::wire::ChecksumMode,
}

/// Keepalive timing: [`Keepalive::new`], or `Default` (RFC 1122's two
/// hours) with fields changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Keepalive {
    /// Idle time before the first probe (RFC 1122: at least 2 hours by
    /// default).
    pub idle: Duration,
    /// Time between unanswered probes.
    pub interval: Duration,
    /// Unanswered probes before the connection fails as timed out.
    pub probes: u32,
}

impl Keepalive {
    /// Probes after `idle` without traffic, every `interval`, giving up
    /// after `probes` unanswered ones.
    pub const fn new(idle: Duration, interval: Duration, probes: u32) -> Keepalive {
        Keepalive {
            idle,
            interval,
            probes,
        }
    }
}

// RFC 9293 §3.8.4 (MUST-27, MUST-28): the idle interval is configurable
// and defaults to two hours.
impl Default for Keepalive {
    fn default() -> Keepalive {
        Keepalive {
            idle: Duration::from_secs(2 * 3600),
            interval: Duration::from_secs(75),
            probes: 9,
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            mtu: 1500,
            send_buffer: 256 * 1024,
            recv_buffer: 128 * 1024,
            recv_buffer_max: 6 * 1024 * 1024,
            min_send_mss: Config::MIN_SEND_MSS_FLOOR,
            window_scaling: true,
            sack: true,
            timestamps: true,
            nagle: true,
            delayed_ack: Duration::from_millis(40),
            max_quick_acks: 16,
            initial_rto: Duration::from_secs(1),
            min_rto: Duration::from_millis(200),
            max_rto: Duration::from_secs(120),
            msl: Duration::from_secs(30),
            max_syn_retries: 7,
            max_retries: 15,
            fin_wait2_timeout: Duration::from_secs(60),
            user_timeout: None,
            keepalive: None,
            challenge_ack_limit: 10,
            congestion: crate::cc::CcAlgorithm::NewReno,
            pacing: true,
            frto: true,
            ecn: crate::ecn::EcnMode::Accept,
            checksums: crate::wire::ChecksumMode::Full,
        }
    }
}

/// A configuration value outside what TCP allows. Each variant concerns
/// one field of [`Config`], which [`ConfigError::field`] names, and so does
/// the `Display` text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigError {
    /// `mtu` cannot carry the IP and TCP headers plus one byte.
    MtuTooSmall(usize),
    /// `send_buffer` is zero.
    SendBufferZero,
    /// `recv_buffer` is zero.
    RecvBufferZero,
    /// `recv_buffer_max` is below `recv_buffer`.
    RecvBufferMaxBelowInitial,
    /// `max_rto` is below 60 s (RFC 6298 §2.5).
    MaxRtoTooSmall,
    /// `min_rto` is zero: a zero RTO would retransmit at once, forever.
    MinRtoZero,
    /// `min_rto` is above `max_rto`.
    MinRtoAboveMax,
    /// `initial_rto` is outside `[min_rto, max_rto]`.
    InitialRtoOutOfRange,
    /// `delayed_ack` is 500 ms or more (RFC 9293 §3.8.6.3).
    DelayedAckTooLong,
    /// `keepalive.probes` is below 2: a peer would be declared dead after
    /// a single unanswered probe, which RFC 9293 §3.8.4 (MUST-29) forbids.
    KeepaliveProbes,
    /// `min_send_mss` is below [`Config::MIN_SEND_MSS_FLOOR`].
    MinSendMssTooSmall(u16),
}

impl ConfigError {
    /// The [`Config`] field at fault, as spelled in the struct
    /// (`"keepalive.probes"` for the keepalive's).
    pub fn field(&self) -> &'static str {
        match self {
            ConfigError::MtuTooSmall(_) => "mtu",
            ConfigError::SendBufferZero => "send_buffer",
            ConfigError::RecvBufferZero => "recv_buffer",
            ConfigError::RecvBufferMaxBelowInitial => "recv_buffer_max",
            ConfigError::MaxRtoTooSmall => "max_rto",
            ConfigError::MinRtoZero | ConfigError::MinRtoAboveMax => "min_rto",
            ConfigError::InitialRtoOutOfRange => "initial_rto",
            ConfigError::DelayedAckTooLong => "delayed_ack",
            ConfigError::KeepaliveProbes => "keepalive.probes",
            ConfigError::MinSendMssTooSmall(_) => "min_send_mss",
        }
    }
}

impl From<RttConfigError> for ConfigError {
    fn from(e: RttConfigError) -> ConfigError {
        match e {
            RttConfigError::MaxRtoTooSmall => ConfigError::MaxRtoTooSmall,
            RttConfigError::MinRtoZero => ConfigError::MinRtoZero,
            RttConfigError::MinRtoAboveMax => ConfigError::MinRtoAboveMax,
            RttConfigError::InitialRtoOutOfRange => ConfigError::InitialRtoOutOfRange,
        }
    }
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let field = self.field();
        match self {
            ConfigError::MtuTooSmall(mtu) => write!(
                f,
                "{field} {mtu} is too small: IP and TCP headers need 61 bytes or more"
            ),
            ConfigError::SendBufferZero | ConfigError::RecvBufferZero => {
                write!(f, "{field} must be non-zero")
            }
            ConfigError::RecvBufferMaxBelowInitial => {
                write!(f, "{field} must be at least recv_buffer")
            }
            ConfigError::MaxRtoTooSmall => {
                write!(f, "{field} must be at least 60 s (RFC 6298 section 2.5)")
            }
            ConfigError::MinRtoZero => write!(f, "{field} must be non-zero"),
            ConfigError::MinRtoAboveMax => write!(f, "{field} must not exceed max_rto"),
            ConfigError::InitialRtoOutOfRange => {
                write!(f, "{field} must lie within [min_rto, max_rto]")
            }
            ConfigError::DelayedAckTooLong => write!(f, "{field} must be below 500 ms"),
            ConfigError::KeepaliveProbes => {
                write!(f, "{field} must be at least 2 (RFC 9293 MUST-29)")
            }
            ConfigError::MinSendMssTooSmall(mss) => write!(
                f,
                "{field} {mss} is too small: at least {} bytes",
                Config::MIN_SEND_MSS_FLOOR
            ),
        }
    }
}

impl core::error::Error for ConfigError {}

impl Config {
    /// The lowest `min_send_mss` allowed, as Linux allows no
    /// `tcp_min_snd_mss` below 48.
    pub const MIN_SEND_MSS_FLOOR: u16 = 48;

    /// Checks the values against the RFCs' limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        // 40 bytes of IPv4+TCP headers at least, plus one payload byte;
        // IPv6 needs 20 more, which `mss_for` checks per family.
        if self.mtu < 41 + 20 {
            return Err(ConfigError::MtuTooSmall(self.mtu));
        }
        if self.send_buffer == 0 {
            return Err(ConfigError::SendBufferZero);
        }
        if self.recv_buffer == 0 {
            return Err(ConfigError::RecvBufferZero);
        }
        if self.recv_buffer_max < self.recv_buffer {
            return Err(ConfigError::RecvBufferMaxBelowInitial);
        }
        // The estimator would clamp what this refuses; refusing says so.
        self.rtt_config().check()?;
        // RFC 9293 §3.8.6.3 (MUST-40): an ACK is delayed less than 0.5 s.
        if self.delayed_ack >= Duration::from_millis(500) {
            return Err(ConfigError::DelayedAckTooLong);
        }
        if self.keepalive.is_some_and(|k| k.probes < 2) {
            return Err(ConfigError::KeepaliveProbes);
        }
        if self.min_send_mss < Config::MIN_SEND_MSS_FLOOR {
            return Err(ConfigError::MinSendMssTooSmall(self.min_send_mss));
        }
        Ok(())
    }

    /// The RTT estimator's settings: the RTO bounds from here, the rest
    /// its defaults.
    pub(crate) fn rtt_config(&self) -> RttConfig {
        RttConfig {
            initial_rto: self.initial_rto,
            min_rto: self.min_rto,
            max_rto: self.max_rto,
            ..RttConfig::default()
        }
    }

    /// The MSS to send with on a path to a peer that announced `peer_mss`
    /// (RFC 9293 §3.7.1, MUST-16: the smaller of the peer's and ours),
    /// raised to `min_send_mss` (but never above our own), before the
    /// options every segment carries are taken off. Every change of the
    /// send MSS goes through here, so the floor holds for all of them.
    pub fn send_mss_for(&self, ipv4: bool, peer_mss: u16) -> u16 {
        let ours = self.mss_for(ipv4);
        peer_mss.min(ours).max(self.min_send_mss.min(ours))
    }

    /// The MSS we announce: the MTU less the IP and TCP fixed headers
    /// (RFC 9293 §3.7.1), at most 65535.
    pub fn mss_for(&self, ipv4: bool) -> u16 {
        let headers = if ipv4 { 40 } else { 60 };
        let mss = self.mtu.saturating_sub(headers).max(1);
        u16::try_from(mss).unwrap_or(u16::MAX)
    }

    /// The window scale shift we offer: the smallest that lets the largest
    /// receive buffer be advertised in 16 bits, at most 14 (RFC 7323 §2.3).
    pub fn window_shift(&self) -> u8 {
        let mut shift = 0u8;
        while shift < 14 && (self.recv_buffer_max >> shift) > usize::from(u16::MAX) {
            shift += 1;
        }
        shift
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Config::default().validate(), Ok(()));
        assert_eq!(Config::default().mss_for(true), 1460);
        assert_eq!(Config::default().mss_for(false), 1440);
        // 6 MiB needs a shift of 7 to fit 16 bits.
        assert_eq!(Config::default().window_shift(), 7);
    }

    #[test]
    fn bad_values_are_refused() {
        let c = Config {
            mtu: 50,
            ..Config::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::MtuTooSmall(50)));
        let c = Config {
            max_rto: Duration::from_secs(10),
            ..Config::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::MaxRtoTooSmall));
        let c = Config {
            recv_buffer_max: 1,
            ..Config::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::RecvBufferMaxBelowInitial));
        let c = Config {
            delayed_ack: Duration::from_millis(500),
            ..Config::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::DelayedAckTooLong));
        let c = Config {
            min_send_mss: 1,
            ..Config::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::MinSendMssTooSmall(1)));
        let message = alloc::format!("{}", c.validate().unwrap_err());
        assert!(message.contains("min_send_mss"), "{message}");
    }

    /// Every refusal names its field, in the variant and in the text.
    #[test]
    fn each_bad_field_is_named() {
        let d = Config::default;
        let cases: [(Config, ConfigError); 13] = [
            (Config { mtu: 60, ..d() }, ConfigError::MtuTooSmall(60)),
            (
                Config {
                    send_buffer: 0,
                    ..d()
                },
                ConfigError::SendBufferZero,
            ),
            (
                Config {
                    recv_buffer: 0,
                    ..d()
                },
                ConfigError::RecvBufferZero,
            ),
            (
                Config {
                    recv_buffer_max: 1000,
                    ..d()
                },
                ConfigError::RecvBufferMaxBelowInitial,
            ),
            (
                Config {
                    min_rto: Duration::ZERO,
                    ..d()
                },
                ConfigError::MinRtoZero,
            ),
            (
                Config {
                    max_rto: Duration::from_secs(59),
                    ..d()
                },
                ConfigError::MaxRtoTooSmall,
            ),
            (
                Config {
                    min_rto: Duration::from_secs(121),
                    ..d()
                },
                ConfigError::MinRtoAboveMax,
            ),
            (
                Config {
                    min_rto: Duration::from_secs(90),
                    max_rto: Duration::from_secs(80),
                    ..d()
                },
                ConfigError::MinRtoAboveMax,
            ),
            (
                Config {
                    initial_rto: Duration::from_millis(100),
                    ..d()
                },
                ConfigError::InitialRtoOutOfRange,
            ),
            (
                Config {
                    initial_rto: Duration::from_secs(121),
                    ..d()
                },
                ConfigError::InitialRtoOutOfRange,
            ),
            (
                Config {
                    delayed_ack: Duration::from_millis(500),
                    ..d()
                },
                ConfigError::DelayedAckTooLong,
            ),
            (
                Config {
                    keepalive: Some(Keepalive {
                        probes: 1,
                        ..Keepalive::default()
                    }),
                    ..d()
                },
                ConfigError::KeepaliveProbes,
            ),
            (
                Config {
                    min_send_mss: 47,
                    ..d()
                },
                ConfigError::MinSendMssTooSmall(47),
            ),
        ];
        for (config, error) in cases {
            assert_eq!(config.validate(), Err(error));
            let field = error.field();
            let message = alloc::format!("{error}");
            assert!(message.starts_with(field), "{message:?} names {field}");
        }
        assert_eq!(ConfigError::MinRtoZero.field(), "min_rto");
        assert_eq!(ConfigError::InitialRtoOutOfRange.field(), "initial_rto");
        assert_eq!(ConfigError::KeepaliveProbes.field(), "keepalive.probes");
    }

    #[test]
    fn the_send_mss_has_a_floor_below_our_own_mss() {
        let c = Config::default();
        for tiny in [0, 1, 47] {
            assert_eq!(c.send_mss_for(true, tiny), 48);
        }
        assert_eq!(c.send_mss_for(true, 536), 536);
        assert_eq!(c.send_mss_for(true, 9000), 1460);
        // A host whose own MTU is smaller than the floor keeps its MTU.
        let small = Config {
            mtu: 80,
            ..Config::default()
        };
        assert_eq!(small.send_mss_for(true, 1), 40);
        let high_floor = Config {
            min_send_mss: 1000,
            ..Config::default()
        };
        assert_eq!(high_floor.send_mss_for(false, 536), 1000);
    }

    #[test]
    fn window_shift_is_capped_at_14() {
        let c = Config {
            recv_buffer_max: usize::MAX / 2,
            ..Config::default()
        };
        assert_eq!(c.window_shift(), 14);
        let c = Config {
            recv_buffer_max: 65535,
            ..Config::default()
        };
        assert_eq!(c.window_shift(), 0);
    }
}
