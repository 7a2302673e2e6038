//! The data buffers of one connection.
//!
//! They hold bytes, not sequence numbers: the connection maps sequence
//! numbers to byte offsets (offset 0 of the [`SendBuffer`] is SND.UNA; the
//! offsets given to a [`ReceiveBuffer`] count from RCV.NXT). Every
//! operation clamps its arguments and reports what it did instead of
//! panicking, copies whole slices, and costs at most O(number of
//! out-of-order ranges), which is bounded by [`MAX_RANGES`](recv::MAX_RANGES).

mod recv;
mod ring;
mod send;

pub use recv::ReceiveBuffer;
pub use ring::RingBuffer;
pub use send::SendBuffer;
