//! A simulated host: one IPv4 interface with the core's
//! [`Endpoint`] behind it — the same endpoint the runtime adapters drive,
//! so demultiplexing, listeners, resets to strays, SYN cookies and
//! TIME-WAIT are the core's — plus what only a simulation has: a clock of
//! its own, a capture of the interface, and the wake-up scheduled for the
//! endpoint's deadline.

use std::net::Ipv4Addr;

use synack_core::endpoint::{Endpoint, EndpointConfig, EndpointConfigError};
use synack_core::{Duration, Instant};

use crate::capture::Capture;

/// A simulated host.
#[derive(Debug)]
pub struct Host {
    name: String,
    addr: Ipv4Addr,
    endpoint: Endpoint,
    /// How far the host's clock is ahead of virtual time. Hosts' clocks
    /// are unrelated, and RFC 6528 initial sequence numbers follow the
    /// clock, so this is how a scenario picks a connection's ISN.
    clock: Duration,
    capture: Option<Capture>,
    /// The endpoint's deadline in virtual time, as last seen.
    deadline: Option<Instant>,
    /// The earliest wake-up scheduled for it.
    wake_at: Option<Instant>,
    /// Wake-ups fire at the next multiple of this (zero: exactly).
    timer_granularity: Duration,
}

impl Host {
    /// A host with address `addr`, an endpoint of `config`, and a clock
    /// `clock` ahead of virtual time.
    pub fn new(
        name: impl Into<String>,
        addr: Ipv4Addr,
        config: EndpointConfig,
        clock: Duration,
    ) -> Result<Host, EndpointConfigError> {
        Ok(Host {
            name: name.into(),
            addr,
            endpoint: Endpoint::new(config)?,
            clock,
            capture: None,
            deadline: None,
            wake_at: None,
            timer_granularity: Duration::ZERO,
        })
    }

    /// Makes wake-ups fire at the next multiple of `granularity` of virtual
    /// time after the endpoint's deadline, as a timer wheel does (tokio's
    /// ticks every millisecond and never fires early).
    pub fn set_timer_granularity(&mut self, granularity: Duration) {
        self.timer_granularity = granularity;
    }

    /// The host's name (used for capture file names).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The host's address.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The endpoint, to open, listen, accept, read and write. Pass it
    /// [`Host::clock`] times, and call [`Host::deadline_changed`] after.
    pub fn endpoint_mut(&mut self) -> &mut Endpoint {
        &mut self.endpoint
    }

    /// The host's clock at virtual time `now`: the time its endpoint and
    /// connections take.
    pub fn clock(&self, now: Instant) -> Instant {
        now + self.clock
    }

    /// Starts capturing the interface.
    pub fn set_capture(&mut self, capture: Capture) {
        self.capture = Some(capture);
    }

    /// Takes the capture out (at the end of a run).
    pub fn take_capture(&mut self) -> Option<Capture> {
        self.capture.take()
    }

    /// An IP packet arrives at the interface.
    pub fn receive(&mut self, now: Instant, packet: &[u8]) {
        if let Some(c) = &mut self.capture {
            c.record(now, packet);
        }
        self.endpoint.handle_ip_packet(now + self.clock, packet);
    }

    /// Writes the endpoint's next IP packet into `buf`, which should hold
    /// an MTU; its length, or `None` when nothing is to be sent now.
    pub fn transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        let len = self.endpoint.poll_transmit_ip(now + self.clock, buf)?.len;
        if let Some(c) = &mut self.capture {
            c.record(now, &buf[..len]);
        }
        Some(len)
    }

    /// The wake-up to schedule for the endpoint's deadline, in virtual
    /// time: `Some` when the deadline comes before every wake-up already
    /// scheduled (the caller schedules it, and passes it to
    /// [`Host::timer_fired`] when it comes); `None` when one already
    /// scheduled comes in time, or there is no deadline. A deadline that
    /// moves later keeps its earlier wake-up, which finds nothing due and
    /// asks for the next: the event queue holds about one wake-up per
    /// host, not one per change of deadline (which, with a timer rearmed
    /// by every segment, would grow with the window in flight).
    pub fn deadline_changed(&mut self) -> Option<Instant> {
        self.deadline = self.endpoint.poll_timeout().map(|at| {
            let at = at - self.clock;
            let tick = self.timer_granularity.total_micros();
            if tick == 0 {
                at
            } else {
                Instant::from_micros(at.total_micros().div_ceil(tick).saturating_mul(tick))
            }
        });
        let due = self.deadline?;
        if self.wake_at.is_some_and(|w| w <= due) {
            return None;
        }
        self.wake_at = Some(due);
        Some(due)
    }

    /// The wake-up scheduled for `at` came at `now`: runs the endpoint's
    /// timers if their deadline has come. True when they ran. A wake-up
    /// superseded by an earlier one is ignored; after one that found
    /// nothing due, [`Host::deadline_changed`] gives the next.
    pub fn timer_fired(&mut self, now: Instant, at: Instant) -> bool {
        if self.wake_at != Some(at) {
            return false;
        }
        self.wake_at = None;
        if self.deadline.is_none_or(|d| d > now) {
            return false;
        }
        self.deadline = None;
        self.endpoint.handle_timeout(now + self.clock);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, SocketAddr};
    use synack_core::IsnGenerator;
    use synack_core::conn::{CloseReason, Event};
    use synack_core::wire::{ChecksumMode, parse_tcp_in_ip};
    use synack_core::{DropReason, FourTuple};

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    fn host(name: &str, addr: Ipv4Addr, clock: Duration) -> Host {
        Host::new(
            name,
            addr,
            EndpointConfig::new([addr.octets()[3]; 16]),
            clock,
        )
        .unwrap()
    }

    /// Moves packets between two hosts until neither sends.
    fn exchange(now: Instant, a: &mut Host, b: &mut Host) {
        let mut buf = [0u8; 1500];
        loop {
            let mut any = false;
            while let Some(n) = a.transmit(now, &mut buf) {
                b.receive(now, &buf[..n]);
                any = true;
            }
            while let Some(n) = b.transmit(now, &mut buf) {
                a.receive(now, &buf[..n]);
                any = true;
            }
            if !any {
                return;
            }
        }
    }

    #[test]
    fn a_coarse_timer_fires_at_the_next_tick_never_before_the_deadline() {
        // 1.0003 s: the SYN's 1 s retransmission timer falls at 2.0003 s.
        let now = Instant::from_micros(1_000_300);
        let mut a = host("a", A, Duration::ZERO);
        a.set_timer_granularity(Duration::from_millis(1));
        let server = SocketAddr::new(IpAddr::V4(B), 80);
        let local = SocketAddr::new(IpAddr::V4(A), 4000);
        a.endpoint_mut().connect_from(local, server, now).unwrap();
        let mut syn = [0u8; 1500];
        assert!(a.transmit(now, &mut syn).is_some());
        let tick = Instant::from_millis(2_001);
        assert_eq!(a.deadline_changed(), Some(tick));
        // A wake-up for the exact deadline is not the one scheduled.
        assert!(!a.timer_fired(
            Instant::from_micros(2_000_300),
            Instant::from_micros(2_000_300)
        ));
        assert!(a.timer_fired(tick, tick));
        assert!(
            a.transmit(tick, &mut syn).is_some(),
            "the SYN is sent again"
        );
    }

    #[test]
    fn a_clock_ahead_moves_the_isn_and_deadlines_come_back_in_virtual_time() {
        let now = Instant::from_secs(1);
        let ahead = Duration::from_secs(3600);
        let (mut a, mut b) = (host("a", A, ahead), host("b", B, Duration::ZERO));
        let server = SocketAddr::new(IpAddr::V4(B), 80);
        let listener = b.endpoint_mut().listen(server).unwrap();
        let local = SocketAddr::new(IpAddr::V4(A), 4000);
        let at = a.clock(now);
        let id = a.endpoint_mut().connect_from(local, server, at).unwrap();
        let mut syn = [0u8; 1500];
        let n = a.transmit(now, &mut syn).unwrap();
        // The SYN's retransmission timer, in virtual time (initial RTO 1 s).
        assert_eq!(a.deadline_changed(), Some(now + Duration::from_secs(1)));
        assert_eq!(a.deadline_changed(), None);
        let (_, seg) = parse_tcp_in_ip(&syn[..n], ChecksumMode::Full).unwrap();
        let tuple = FourTuple::new(local, server);
        assert_eq!(seg.seq, IsnGenerator::new([1; 16]).generate(&tuple, at));
        b.receive(now, &syn[..n]);
        exchange(now, &mut a, &mut b);
        assert_eq!(a.endpoint_mut().poll_event(), Some((id, Event::Connected)));
        assert!(b.endpoint_mut().accept(listener).is_some());
        // Established: a wake-up for the SYN's old deadline runs nothing.
        a.deadline_changed();
        let later = now + Duration::from_secs(1);
        assert!(!a.timer_fired(later, later));
    }

    #[test]
    fn strays_are_refused_and_corruption_is_dropped() {
        let now = Instant::from_secs(1);
        let (mut a, mut b) = (host("a", A, Duration::ZERO), host("b", B, Duration::ZERO));
        let server = SocketAddr::new(IpAddr::V4(B), 80);
        let local = SocketAddr::new(IpAddr::V4(A), 4000);
        let id = a.endpoint_mut().connect_from(local, server, now).unwrap();
        let mut buf = [0u8; 1500];
        let n = a.transmit(now, &mut buf).unwrap();
        // A flipped bit anywhere is caught by a checksum.
        for bit in [3usize, 100, 8 * n - 1] {
            let mut bad = buf;
            bad[bit / 8] ^= 1 << (bit % 8);
            b.receive(now, &bad[..n]);
        }
        assert_eq!(b.endpoint().stats().drops.get(DropReason::Malformed), 3);
        assert_eq!(b.transmit(now, &mut buf), None);
        // Nobody listens: the SYN is answered with a reset.
        b.receive(now, &buf[..n]);
        let m = b.transmit(now, &mut buf).unwrap();
        assert_eq!(b.endpoint().stats().rsts_sent, 1);
        a.receive(now, &buf[..m]);
        assert_eq!(
            a.endpoint_mut().poll_event(),
            Some((id, Event::Closed(CloseReason::Refused)))
        );
    }
}
