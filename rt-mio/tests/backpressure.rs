//! Back-pressure end to end: a writer whose reader does not read fills
//! the send buffer and the peer's window, then gets `WouldBlock` (nothing
//! queues without bound); when the reader reads, a writable event comes
//! and everything flows, in order.

mod common;

use std::io::{ErrorKind, Write};
use std::net::Shutdown;
use std::time::Duration;

use common::{CLIENT, EventLoop, pair, pattern, read_available, write_available};
use mio::Interest;
use synack_mio::StackConfig;

#[test]
fn a_writer_gets_would_block_until_the_reader_reads() {
    let mut lp = EventLoop::new(30);
    let (mut c, s, mut client, mut server, _l) = pair(&mut lp);
    let stacks = &mut [&mut client, &mut server];
    lp.registry()
        .reregister(&mut c, CLIENT, Interest::WRITABLE)
        .unwrap();
    let data = pattern(5, 4 << 20);
    // Write until nothing more is taken for a while (the peer does not
    // read).
    let mut written = 0;
    let mut refused = 0;
    while refused < 20 {
        match (&c).write(&data[written..]) {
            Ok(n) => {
                written += n;
                refused = 0;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                refused += 1;
                lp.turn_at_most(stacks, Duration::from_millis(10));
            }
            Err(e) => panic!("{e}"),
        }
    }
    // Bounded by our send buffer plus the receiver's window (its initial
    // buffer: it grows only as the application reads).
    let config = StackConfig::default().endpoint.conn;
    let bound = config.send_buffer + config.recv_buffer;
    assert!(
        written > 0 && written <= bound,
        "{written} bytes taken, bound {bound}"
    );
    // The reader reads: the writer hears it can write again, and
    // everything flows.
    let mut got = Vec::new();
    let mut writable_events = 0;
    let mut shut = false;
    lp.run_until(stacks, |events, _| {
        read_available(&s, &mut got).unwrap();
        if events
            .iter()
            .any(|e| e.token() == CLIENT && e.is_writable())
        {
            writable_events += 1;
            if !shut && write_available(&c, &data, &mut written).unwrap() {
                c.shutdown(Shutdown::Write).unwrap();
                shut = true;
            }
        }
        (got.len() == data.len()).then_some(())
    });
    assert!(writable_events > 0);
    assert!(got == data);
    assert!(read_available(&s, &mut got).unwrap(), "then end of stream");
}
