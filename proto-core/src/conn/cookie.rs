//! A connection born from a SYN cookie (RFC 4987 §3.6): the listener kept
//! no state for the handshake, so the connection is rebuilt from the final
//! ACK and what the cookie carried, and starts in ESTABLISHED.

use super::{Connection, Error, State};
use crate::syncookie::{CookieParams, decode_ts_options};
use crate::time::Instant;
use crate::tuple::FourTuple;
use crate::wire::{EcnCodepoint, TcpFlags, TcpOptions, TcpRepr, Timestamps};

impl Connection {
    /// The connection a valid SYN cookie stands for. `ack` is the final ACK
    /// of the handshake, arriving along `tuple`, whose cookie
    /// ([`crate::syncookie::SynCookies::validate`]) gave `cookie`; the
    /// result is ESTABLISHED (CLOSE-WAIT if the ACK carried a FIN) and has
    /// taken in any data the ACK carried.
    ///
    /// Our ISN is SEG.ACK − 1 and the peer's SEG.SEQ − 1. The peer's MSS is
    /// the cookie's. When the ACK carries timestamps, the window scale and
    /// SACK-permitted the peer's SYN offered, and whether it asked for ECN,
    /// come back in its TSecr ([`crate::syncookie::decode_ts_options`]);
    /// without timestamps they are lost, so the cookie's SYN-ACK must not
    /// have offered them. `ecn` is the codepoint of the IP header that
    /// carried the ACK.
    /// `timestamp_offset` is the offset the SYN-ACK's TSval was made with
    /// (see [`Connection::set_timestamp_offset`]).
    ///
    /// An `ack` that is not an ACK (or is a SYN or RST), or that does not
    /// travel along `tuple`, is [`Error::InvalidState`]`(Listen)`: what a
    /// listener would make of it.
    pub(crate) fn from_syn_cookie(
        config: &super::Config,
        tuple: FourTuple,
        cookie: CookieParams,
        ack: &TcpRepr<'_>,
        ecn: EcnCodepoint,
        timestamp_offset: u32,
        now: Instant,
    ) -> Result<Connection, Error> {
        let addrs = tuple
            .outgoing_addrs()
            .ok_or(Error::AddressFamilyMismatch)?
            .reversed();
        let along_tuple = FourTuple::of_incoming(&addrs, ack.src_port, ack.dst_port) == tuple;
        if !along_tuple
            || !ack.flags.contains(TcpFlags::ACK)
            || ack.flags.intersects(TcpFlags::SYN | TcpFlags::RST)
        {
            return Err(Error::InvalidState(State::Listen));
        }
        // The peer's SYN as far as the cookie remembers it. Timestamps are
        // in use if the ACK has them (RFC 7323 §3.2: only if both SYNs had
        // them, and ours offered them only then).
        let ts = ack.options.timestamps.filter(|_| config.timestamps);
        let restored = ts.map(|ts| decode_ts_options(ts.echo_reply));
        let syn = TcpRepr {
            src_port: ack.src_port,
            dst_port: ack.dst_port,
            seq: ack.seq - 1u32,
            // An ECN-setup SYN (RFC 3168 §6.1.1) if the cookie's SYN-ACK
            // agreed to one.
            flags: if restored.is_some_and(|o| o.ecn) {
                TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR
            } else {
                TcpFlags::SYN
            },
            // Replaced by the ACK's own window below.
            window: ack.window,
            options: TcpOptions {
                mss: Some(cookie.mss),
                window_scale: restored.and_then(|o| o.wscale),
                sack_permitted: restored.is_some_and(|o| o.sack_permitted),
                timestamps: ts.map(|ts| Timestamps {
                    value: ts.value,
                    echo_reply: 0,
                }),
                ..TcpOptions::default()
            },
            ..TcpRepr::default()
        };
        let iss = ack.ack - 1u32;
        let mut conn = Connection::new(config, tuple, now);
        conn.open_from_syn(&syn, iss, now);
        // The offset the stateless SYN-ACK's TSval was made with, so the
        // echo in the ACK gives a true RTT sample.
        conn.set_timestamp_offset(timestamp_offset);
        // The SYN-ACK went out statelessly: record it as sent, with the
        // window it advertised (the unscaled buffer, RFC 7323 §2.2), so the
        // ACK and any data riding on it are acceptable.
        conn.snd.nxt = iss + 1u32;
        conn.snd.max = iss + 1u32;
        let (free, capacity) = (conn.recv_buf.window(), conn.recv_buf.capacity());
        let mss = conn.recv_mss();
        conn.window
            .next_field(conn.rcv.nxt, free, capacity, mss, true);
        conn.ts.last_ack_sent = conn.rcv.nxt;
        conn.handle_segment_with_ecn(now, &addrs, ack, ecn);
        if !conn.state.is_synchronized() {
            return Err(Error::InvalidState(conn.state));
        }
        Ok(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::{Config, Event};
    use crate::seq::SeqNumber;
    use crate::syncookie::{SynCookies, TsCookieOptions, encode_ts_options};
    use core::net::{IpAddr, Ipv4Addr, SocketAddr};

    const CLIENT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000);
    const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80);

    /// The final ACK a client sends for cookie `iss`, with `payload`.
    fn final_ack(iss: SeqNumber, tsecr: Option<u32>, payload: &[u8]) -> TcpRepr<'_> {
        TcpRepr {
            src_port: CLIENT.port(),
            dst_port: SERVER.port(),
            seq: SeqNumber(5001),
            ack: iss + 1u32,
            flags: TcpFlags::ACK | TcpFlags::PSH,
            window: 1000,
            options: TcpOptions {
                timestamps: tsecr.map(|echo_reply| Timestamps {
                    value: 777,
                    echo_reply,
                }),
                ..TcpOptions::default()
            },
            payload,
            ..TcpRepr::default()
        }
    }

    #[test]
    fn restores_options_from_timestamps() {
        let tuple = FourTuple::new(SERVER, CLIENT);
        let now = Instant::from_secs(100);
        let (iss, mss) = SynCookies::new([3; 16]).encode(&tuple, SeqNumber(5000), now, 1460);
        let opts = TsCookieOptions {
            wscale: Some(7),
            sack_permitted: true,
            ecn: false,
        };
        let tsecr = encode_ts_options(opts, 123_456);
        let ack = final_ack(iss, Some(tsecr), b"hello");
        let mut c = Connection::from_syn_cookie(
            &Config::default(),
            tuple,
            CookieParams { mss },
            &ack,
            EcnCodepoint::NotEct,
            0,
            now,
        )
        .unwrap();
        assert_eq!(c.state(), State::Established);
        let n = c.negotiated();
        assert!(n.timestamps && n.sack && n.window_scaling);
        assert_eq!((n.snd_shift, n.peer_mss), (7, 1460));
        // The ACK's window is scaled by the restored shift.
        assert_eq!(c.stats().send_window, 1000 << 7);
        assert_eq!(c.poll_event(), Some(Event::Connected));
        let mut buf = [0u8; 16];
        assert_eq!(c.read(now, &mut buf), Ok(5));
        assert_eq!(&buf[..5], b"hello");
    }

    #[test]
    fn without_timestamps_only_the_mss_survives() {
        let tuple = FourTuple::new(SERVER, CLIENT);
        let now = Instant::from_secs(100);
        let (iss, mss) = SynCookies::new([3; 16]).encode(&tuple, SeqNumber(5000), now, 1300);
        let ack = final_ack(iss, None, b"");
        let c = Connection::from_syn_cookie(
            &Config::default(),
            tuple,
            CookieParams { mss },
            &ack,
            EcnCodepoint::NotEct,
            0,
            now,
        )
        .unwrap();
        let n = c.negotiated();
        assert!(!n.timestamps && !n.sack && !n.window_scaling);
        assert_eq!(n.peer_mss, 1300);
        assert_eq!(c.stats().send_window, 1000);
    }

    #[test]
    fn misuse_is_a_typed_error() {
        let tuple = FourTuple::new(SERVER, CLIENT);
        let now = Instant::from_secs(1);
        let cookie = CookieParams { mss: 536 };
        let mut syn = final_ack(SeqNumber(1), None, b"");
        syn.flags = TcpFlags::SYN;
        let c = Config::default();
        assert_eq!(
            Connection::from_syn_cookie(&c, tuple, cookie, &syn, EcnCodepoint::NotEct, 0, now)
                .err(),
            Some(Error::InvalidState(State::Listen))
        );
        let ack = final_ack(SeqNumber(1), None, b"");
        let other = FourTuple::new(SERVER, SocketAddr::new(CLIENT.ip(), 1));
        assert_eq!(
            Connection::from_syn_cookie(&c, other, cookie, &ack, EcnCodepoint::NotEct, 0, now)
                .err(),
            Some(Error::InvalidState(State::Listen))
        );
    }
}
