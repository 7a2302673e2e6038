//! Half-close in both directions, and what dropping a stream does: a FIN
//! when everything was read, a reset when data was left unread (as a
//! kernel socket), and data written before the drop still delivered as
//! long as the loop runs the stack.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;

use common::{EventLoop, pair, pattern, read_available, write_available};
use synack_mio::{Stack, TcpStream};

/// Turns until `stream` has been read to its end; what it read.
fn read_to_end(lp: &mut EventLoop, stacks: &mut [&mut Stack], stream: &TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    lp.run_until(stacks, |_, _| {
        read_available(stream, &mut got).unwrap().then_some(())
    });
    got
}

/// Turns until all of `data` is written to `stream` and shuts its
/// sending side, while `reader` (if any) reads the other end.
fn write_all_and_shut(
    lp: &mut EventLoop,
    stacks: &mut [&mut Stack],
    stream: &TcpStream,
    data: &[u8],
    mut reader: Option<(&TcpStream, &mut Vec<u8>)>,
) {
    let mut sent = 0;
    lp.run_until(stacks, |_, _| {
        if let Some((r, into)) = reader.as_mut() {
            read_available(r, into).unwrap();
        }
        write_available(stream, data, &mut sent)
            .unwrap()
            .then_some(())
    });
    stream.shutdown(Shutdown::Write).unwrap();
}

#[test]
fn client_half_closes_and_still_reads_the_reply() {
    let mut lp = EventLoop::new(20);
    let (c, s, mut client, mut server, _l) = pair(&mut lp);
    let stacks = &mut [&mut client, &mut server];
    let request = pattern(1, 100_000);
    let mut got = Vec::new();
    write_all_and_shut(&mut lp, stacks, &c, &request, Some((&s, &mut got)));
    // The server sees the whole request, then end of stream.
    got.extend(read_to_end(&mut lp, stacks, &s));
    assert!(got == request);
    // Its sending side is still open: the reply flows back.
    let reply = pattern(2, 300_000);
    let mut back = Vec::new();
    write_all_and_shut(&mut lp, stacks, &s, &reply, Some((&c, &mut back)));
    back.extend(read_to_end(&mut lp, stacks, &c));
    assert!(back == reply);
    // Writing after shutdown is a broken pipe.
    let err = (&c).write(b"x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    // Shutting the receiving side is not supported.
    let err = c.shutdown(Shutdown::Read).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

#[test]
fn server_half_closes_and_still_reads_the_upload() {
    let mut lp = EventLoop::new(20);
    let (c, s, mut client, mut server, _l) = pair(&mut lp);
    let stacks = &mut [&mut client, &mut server];
    // The server says all it has to say and shuts its side first.
    (&s).write_all(b"greeting").unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut lp, stacks, &c), b"greeting");
    // The client keeps sending after seeing the server's FIN (more than
    // the buffers hold: the server reads as it arrives).
    let upload = pattern(3, 2_000_000);
    let mut got = Vec::new();
    write_all_and_shut(&mut lp, stacks, &c, &upload, Some((&s, &mut got)));
    got.extend(read_to_end(&mut lp, stacks, &s));
    assert!(got == upload);
    // Both sides closed: once the streams go, both connections finish.
    drop((c, s));
    lp.run_until_finished(stacks);
}

#[test]
fn dropping_a_stream_with_everything_read_sends_a_fin() {
    let mut lp = EventLoop::new(20);
    let (c, s, mut client, mut server, _l) = pair(&mut lp);
    let stacks = &mut [&mut client, &mut server];
    (&c).write_all(b"bye").unwrap();
    let mut got = Vec::new();
    lp.run_until(stacks, |_, _| {
        read_available(&s, &mut got).unwrap();
        (got.len() == 3).then_some(())
    });
    drop(s);
    // The client reads end of stream, not an error.
    assert!(read_to_end(&mut lp, stacks, &c).is_empty());
}

#[test]
fn dropping_a_stream_with_unread_data_resets_the_peer() {
    let mut lp = EventLoop::new(20);
    let (mut c, s, mut client, mut server, _l) = pair(&mut lp);
    let stacks = &mut [&mut client, &mut server];
    c.write_all(b"never read").unwrap();
    // Wait until the data has arrived at the server, unread.
    lp.run_until(stacks, |_, _| {
        (s.stats().unwrap().bytes_received >= 10).then_some(())
    });
    drop(s);
    let err = lp.run_until(stacks, |_, _| match c.read(&mut [0u8; 8]) {
        Err(e) if e.kind() == ErrorKind::WouldBlock => None,
        other => Some(other.unwrap_err()),
    });
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
}

#[test]
fn a_dropped_stream_still_delivers_what_was_written() {
    let mut lp = EventLoop::new(20);
    let (c, s, mut client, mut server, _l) = pair(&mut lp);
    let stacks = &mut [&mut client, &mut server];
    let data = pattern(4, 300 * 1024);
    let mut got = Vec::new();
    // Written in full (the server reading along), most of it still in the
    // send buffer, when the stream is dropped.
    let mut sent = 0;
    lp.run_until(stacks, |_, _| {
        read_available(&s, &mut got).unwrap();
        write_available(&c, &data, &mut sent).unwrap().then_some(())
    });
    let unsent = c.stats().unwrap().bytes_sent;
    drop(c);
    // The loop goes on running the client's stack: the rest arrives,
    // then the FIN.
    got.extend(read_to_end(&mut lp, stacks, &s));
    assert_eq!(got.len(), data.len(), "{unsent} sent before the drop");
    assert!(got == data);
    // Both ends let go: both connections finish.
    drop(s);
    lp.run_until_finished(stacks);
}
