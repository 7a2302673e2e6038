//! synack's errors as `std::io::Error`s, with the kinds a kernel socket
//! reports for the same situations.

use std::io;

use synack_core::conn::{CloseReason, Error};
use synack_core::endpoint::EndpointError;

/// How a connection's end looks to an operation on it.
pub(crate) fn closed(reason: CloseReason) -> io::Error {
    let kind = match reason {
        CloseReason::Normal => io::ErrorKind::NotConnected,
        CloseReason::Reset => io::ErrorKind::ConnectionReset,
        CloseReason::Refused => io::ErrorKind::ConnectionRefused,
        CloseReason::TimedOut => io::ErrorKind::TimedOut,
        CloseReason::Aborted => io::ErrorKind::ConnectionAborted,
    };
    io::Error::new(kind, reason.to_string())
}

/// A connection error (not `WouldBlock`, which callers handle).
pub(crate) fn conn(e: Error) -> io::Error {
    match e {
        Error::WouldBlock => io::Error::from(io::ErrorKind::WouldBlock),
        Error::Closed(reason) => closed(reason),
        Error::SendClosed => io::Error::new(io::ErrorKind::BrokenPipe, e.to_string()),
        Error::InvalidState(_) => io::Error::new(io::ErrorKind::NotConnected, e.to_string()),
        Error::AddressFamilyMismatch | Error::InvalidConfig(_) => {
            io::Error::new(io::ErrorKind::InvalidInput, e.to_string())
        }
    }
}

/// A write on a connection that ended: a normal end is a broken pipe, as
/// `EPIPE` after the peer's close.
pub(crate) fn write(e: Error) -> io::Error {
    match e {
        Error::Closed(CloseReason::Normal) => {
            io::Error::new(io::ErrorKind::BrokenPipe, "connection closed")
        }
        e => conn(e),
    }
}

/// An endpoint refusal.
pub(crate) fn endpoint(e: EndpointError) -> io::Error {
    let kind = match e {
        // The core's error stays inside, naming the field.
        EndpointError::InvalidConfig(_) => io::ErrorKind::InvalidInput,
        EndpointError::AddressInUse => io::ErrorKind::AddrInUse,
        EndpointError::InvalidAddress => io::ErrorKind::InvalidInput,
        EndpointError::NoEphemeralPorts => io::ErrorKind::AddrNotAvailable,
        EndpointError::ConnectionLimit | EndpointError::MemoryLimit => io::ErrorKind::OutOfMemory,
        EndpointError::UnknownConnection | EndpointError::UnknownListener => {
            io::ErrorKind::NotConnected
        }
    };
    io::Error::new(kind, e)
}

/// The stack's driver has stopped (its link failed): every operation
/// fails with this.
pub(crate) fn stopped(why: &Option<(io::ErrorKind, String)>) -> io::Error {
    match why {
        Some((kind, msg)) => io::Error::new(*kind, format!("synack stack stopped: {msg}")),
        None => io::Error::new(io::ErrorKind::NotConnected, "synack stack stopped"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_match_what_kernel_sockets_report() {
        use io::ErrorKind as K;
        let cases = [
            (Error::Closed(CloseReason::Refused), K::ConnectionRefused),
            (Error::Closed(CloseReason::Reset), K::ConnectionReset),
            (Error::Closed(CloseReason::TimedOut), K::TimedOut),
            (Error::Closed(CloseReason::Aborted), K::ConnectionAborted),
            (Error::SendClosed, K::BrokenPipe),
            (
                Error::InvalidState(synack_core::conn::State::Listen),
                K::NotConnected,
            ),
        ];
        for (e, kind) in cases {
            assert_eq!(conn(e).kind(), kind, "{e:?}");
        }
        assert_eq!(
            write(Error::Closed(CloseReason::Normal)).kind(),
            K::BrokenPipe
        );
        assert_eq!(endpoint(EndpointError::AddressInUse).kind(), K::AddrInUse);
    }
}
