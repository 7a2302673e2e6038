//! Readiness of streams and listeners, delivered by
//! [`Stack::process`](crate::Stack::process).
//!
//! A stream or listener registered with a token (through
//! `mio::event::Source`) has two wakers: one the driver wakes when it may
//! have become readable, one for writable. They are the same kind of
//! `std::task::Waker` the async adapters leave in the driver's slots, so
//! the driver decides when a source is ready exactly as it does for tokio
//! and smol. Waking one records the source's token in its stack's queue
//! (each source at most once, with the readiness merged), and `process`
//! hands the queue to the application as [`Events`].
//!
//! The readiness is edge-triggered, as with mio's own sources on epoll:
//!
//! - a stream's wakers stay in its slot
//!   ([`set_event_wakers`](synack_driver::Stream::set_event_wakers)), so
//!   every change the core reports is an event, as the kernel reports
//!   every arrival: data arrived, the peer's FIN, room in the send buffer
//!   after a write would block, the handshake over, the end;
//! - a listener's waker is left when `accept` would block (the driver
//!   wakes its waiters while connections wait, so keeping it would repeat
//!   the event on every turn): after an event, accept until
//!   `WouldBlock`;
//! - (re)registration reports the readiness the source already has, as
//!   epoll does.
//!
//! So the application's part is mio's: after an event, read, write or
//! accept until `WouldBlock`, and expect the odd spurious event.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Wake, Waker};

use mio::{Interest, Token};

const READABLE: u8 = 1;
const WRITABLE: u8 = 2;

/// Readiness events of a stack's streams and listeners, filled by
/// [`Stack::process`](crate::Stack::process); the counterpart of
/// [`mio::Events`] for the sources inside the stack.
///
/// At most [`capacity`](Events::capacity) events are handed out per call;
/// the rest wait for the next one (and
/// [`Stack::timeout`](crate::Stack::timeout) is zero meanwhile).
#[derive(Debug)]
pub struct Events {
    events: Vec<Event>,
}

impl Events {
    /// Room for `capacity` events per [`Stack::process`](crate::Stack::process)
    /// (at least one).
    pub fn with_capacity(capacity: usize) -> Events {
        Events {
            events: Vec::with_capacity(capacity.max(1)),
        }
    }

    /// Most events one call hands out.
    pub fn capacity(&self) -> usize {
        self.events.capacity()
    }

    /// The events, in the order they arose.
    pub fn iter(&self) -> std::slice::Iter<'_, Event> {
        self.events.iter()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Forgets them (`process` does this first).
    pub fn clear(&mut self) {
        self.events.clear();
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = &'a Event;
    type IntoIter = std::slice::Iter<'a, Event>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// A stream or listener became ready: the counterpart of
/// [`mio::event::Event`]. Like mio's, it is a hint: an operation may still
/// return `WouldBlock`, and the application then waits for the next
/// event. A failed or closed connection is readable and writable; the
/// read or write says how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    token: Token,
    ready: u8,
}

impl Event {
    /// The token the source was registered with.
    pub fn token(&self) -> Token {
        self.token
    }

    /// A read (or, for a listener, an accept) may now succeed, return end
    /// of stream, or report an error.
    pub fn is_readable(&self) -> bool {
        self.ready & READABLE != 0
    }

    /// A write may now succeed (for a connecting stream: the handshake is
    /// over, see [`TcpStream::take_error`](crate::TcpStream::take_error)).
    pub fn is_writable(&self) -> bool {
        self.ready & WRITABLE != 0
    }
}

/// A stack's sources with readiness to report, in the order it arose.
/// Each source is in it at most once, so it is bounded by the number of
/// live sources.
#[derive(Debug, Default)]
pub(crate) struct ReadyQueue {
    queue: Mutex<VecDeque<Weak<Entry>>>,
}

impl ReadyQueue {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Weak<Entry>>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Moves queued readiness into `events` while it has room.
    pub(crate) fn drain_into(&self, events: &mut Events) {
        let mut queue = self.lock();
        while events.events.len() < events.events.capacity() {
            let Some(weak) = queue.pop_front() else {
                break;
            };
            // A source dropped since has nothing to report.
            let Some(entry) = weak.upgrade() else {
                continue;
            };
            let mut st = entry.lock();
            st.queued = false;
            let ready = std::mem::take(&mut st.pending);
            if let Some((token, interest)) = st.registered
                && ready & interest != 0
            {
                events.events.push(Event {
                    token,
                    ready: ready & interest,
                });
            }
        }
    }
}

/// One source's registration, shared with its wakers.
#[derive(Debug)]
struct Entry {
    queue: Arc<ReadyQueue>,
    state: Mutex<EntryState>,
}

#[derive(Debug, Default)]
struct EntryState {
    /// The token and interest it was registered with.
    registered: Option<(Token, u8)>,
    /// Readiness not yet handed out.
    pending: u8,
    /// In the stack's queue.
    queued: bool,
}

impl Entry {
    fn lock(&self) -> MutexGuard<'_, EntryState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The driver found the source `ready` (or it was at registration).
    fn fire(self: &Arc<Entry>, ready: u8) {
        let mut st = self.lock();
        let Some((_, interest)) = st.registered else {
            return;
        };
        if ready & interest == 0 {
            return;
        }
        st.pending |= ready;
        if !st.queued {
            st.queued = true;
            // Never both locks in this order: `drain_into` takes the
            // queue's, then entries'.
            drop(st);
            self.queue.lock().push_back(Arc::downgrade(self));
        }
    }
}

/// Wakes one direction of one source.
struct DirectionWaker {
    entry: Arc<Entry>,
    ready: u8,
}

impl Wake for DirectionWaker {
    fn wake(self: Arc<Self>) {
        self.entry.fire(self.ready);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.entry.fire(self.ready);
    }
}

/// What a stream or listener holds to be a `mio::event::Source` of its
/// stack: its registration and the two wakers the driver wakes.
#[derive(Debug)]
pub(crate) struct Registration {
    entry: Arc<Entry>,
    read: Waker,
    write: Waker,
}

impl Registration {
    pub(crate) fn new(queue: &Arc<ReadyQueue>) -> Registration {
        let entry = Arc::new(Entry {
            queue: queue.clone(),
            state: Mutex::new(EntryState::default()),
        });
        let waker = |ready| {
            Waker::from(Arc::new(DirectionWaker {
                entry: entry.clone(),
                ready,
            }))
        };
        Registration {
            read: waker(READABLE),
            write: waker(WRITABLE),
            entry,
        }
    }

    /// The wakers of readable and writable, to leave in the driver's
    /// slot for good.
    pub(crate) fn wakers(&self) -> (&Waker, &Waker) {
        (&self.read, &self.write)
    }

    /// The stack's queue, for the streams a listener accepts.
    pub(crate) fn queue(&self) -> &Arc<ReadyQueue> {
        &self.entry.queue
    }

    /// A context whose waker reports the source readable.
    pub(crate) fn read_context(&self) -> Context<'_> {
        Context::from_waker(&self.read)
    }

    /// A context whose waker reports the source writable.
    pub(crate) fn write_context(&self) -> Context<'_> {
        Context::from_waker(&self.write)
    }

    /// `mio::event::Source::register`: `AlreadyExists` if it is
    /// registered, as epoll says.
    pub(crate) fn register(&self, token: Token, interest: Interest) -> io::Result<()> {
        let mut st = self.entry.lock();
        if st.registered.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "already registered: use reregister",
            ));
        }
        st.registered = Some((token, bits(interest)));
        st.pending = 0;
        Ok(())
    }

    /// `mio::event::Source::reregister`: `NotFound` if it is not
    /// registered.
    pub(crate) fn reregister(&self, token: Token, interest: Interest) -> io::Result<()> {
        let mut st = self.entry.lock();
        if st.registered.is_none() {
            return Err(not_registered());
        }
        st.registered = Some((token, bits(interest)));
        st.pending = 0;
        Ok(())
    }

    /// `mio::event::Source::deregister`: `NotFound` if it is not
    /// registered.
    pub(crate) fn deregister(&self) -> io::Result<()> {
        let mut st = self.entry.lock();
        if st.registered.take().is_none() {
            return Err(not_registered());
        }
        st.pending = 0;
        Ok(())
    }

    /// After (re)registration: reports the readiness the source has now,
    /// as epoll does, and leaves wakers for what it lacks. `read_ready`
    /// and `write_ready` poll the source's readiness with the context
    /// they are given.
    pub(crate) fn arm(
        &self,
        read_ready: impl FnOnce(&mut Context<'_>) -> Poll<()>,
        write_ready: impl FnOnce(&mut Context<'_>) -> Poll<()>,
    ) {
        let interest = self.entry.lock().registered.map_or(0, |(_, i)| i);
        if interest & READABLE != 0 && read_ready(&mut self.read_context()).is_ready() {
            self.read.wake_by_ref();
        }
        if interest & WRITABLE != 0 && write_ready(&mut self.write_context()).is_ready() {
            self.write.wake_by_ref();
        }
    }
}

fn bits(interest: Interest) -> u8 {
    let mut b = 0;
    if interest.is_readable() {
        b |= READABLE;
    }
    if interest.is_writable() {
        b |= WRITABLE;
    }
    b
}

fn not_registered() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "not registered")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_is_merged_per_source_filtered_by_interest_and_bounded_by_capacity() {
        let queue = Arc::new(ReadyQueue::default());
        let a = Registration::new(&queue);
        let b = Registration::new(&queue);
        let c = Registration::new(&queue);
        // Unregistered: nothing is recorded.
        a.read.wake_by_ref();
        assert!(queue.is_empty());
        a.register(Token(1), Interest::READABLE | Interest::WRITABLE)
            .unwrap();
        b.register(Token(2), Interest::READABLE).unwrap();
        c.register(Token(3), Interest::WRITABLE).unwrap();
        assert_eq!(
            a.register(Token(1), Interest::READABLE).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        a.read.wake_by_ref();
        b.write.wake_by_ref(); // not of interest
        c.write.wake_by_ref();
        a.write.wake_by_ref(); // merged with a's readable
        let mut events = Events::with_capacity(1);
        queue.drain_into(&mut events);
        let got: Vec<_> = events.iter().copied().collect();
        assert_eq!(
            got,
            [Event {
                token: Token(1),
                ready: READABLE | WRITABLE
            }]
        );
        // The rest waits for the next call.
        events.clear();
        queue.drain_into(&mut events);
        assert_eq!(events.iter().next().unwrap().token(), Token(3));
        assert!(queue.is_empty());
        // Deregistered or dropped sources report nothing.
        c.write.wake_by_ref();
        c.deregister().unwrap();
        drop(a.read.clone());
        a.read.wake_by_ref();
        drop(a);
        let mut events = Events::with_capacity(8);
        queue.drain_into(&mut events);
        assert!(events.is_empty());
        assert_eq!(c.deregister().unwrap_err().kind(), io::ErrorKind::NotFound);
    }
}
