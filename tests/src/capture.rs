//! Packet captures of a host's interface in pcap format (LINKTYPE_RAW:
//! packets start with their IP header), stamped with virtual time.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};
use synack_core::Instant;

/// Where a capture's bytes go.
#[derive(Debug)]
pub enum Sink {
    /// Kept in memory.
    Memory(Vec<u8>),
    /// Written to a file.
    File(BufWriter<File>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Memory(v) => v.write(buf),
            Sink::File(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Memory(_) => Ok(()),
            Sink::File(f) => f.flush(),
        }
    }
}

/// One interface's capture.
#[derive(Debug)]
pub struct Capture {
    writer: PcapWriter<Sink>,
    snaplen: u32,
    /// The first write error; later packets are skipped.
    error: Option<String>,
}

impl Capture {
    /// A capture into memory.
    pub fn in_memory(snaplen: Option<u32>) -> Capture {
        Capture::new(Sink::Memory(Vec::new()), snaplen).expect("writing to memory cannot fail")
    }

    /// A capture into a new file at `path`.
    pub fn to_file(path: &Path, snaplen: Option<u32>) -> io::Result<Capture> {
        let file = File::create(path)?;
        Capture::new(Sink::File(BufWriter::new(file)), snaplen)
    }

    fn new(sink: Sink, snaplen: Option<u32>) -> io::Result<Capture> {
        let snaplen = snaplen.unwrap_or(65_535).clamp(20, 65_535);
        // The header always says 65535: readers (pcap-file among them)
        // refuse records whose original length exceeds the file's snaplen,
        // while a shorter captured length is ordinary truncation.
        let header = PcapHeader {
            version_major: 2,
            version_minor: 4,
            ts_correction: 0,
            ts_accuracy: 0,
            snaplen: 65_535,
            datalink: DataLink::RAW,
            ts_resolution: TsResolution::MicroSecond,
            endianness: Endianness::Little,
        };
        let writer = PcapWriter::with_header(sink, header).map_err(io::Error::other)?;
        Ok(Capture {
            writer,
            snaplen,
            error: None,
        })
    }

    /// Records one IP packet seen at `now`.
    pub fn record(&mut self, now: Instant, packet: &[u8]) {
        if self.error.is_some() {
            return;
        }
        let kept = packet.len().min(self.snaplen as usize);
        let ts = std::time::Duration::from_micros(now.total_micros());
        let p = PcapPacket::new(ts, packet.len() as u32, &packet[..kept]);
        if let Err(e) = self.writer.write_packet(&p) {
            self.error = Some(e.to_string());
        }
    }

    /// Ends the capture: the bytes when in memory, `None` for a file
    /// (flushed); or the first error met.
    pub fn finish(self) -> Result<Option<Vec<u8>>, String> {
        if let Some(e) = self.error {
            return Err(e);
        }
        match self.writer.into_writer() {
            Sink::Memory(v) => Ok(Some(v)),
            Sink::File(mut f) => f.flush().map(|_| None).map_err(|e| e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_file::pcap::PcapReader;

    #[test]
    fn packets_round_trip_with_virtual_timestamps_and_snaplen() {
        let mut c = Capture::in_memory(Some(30));
        c.record(Instant::from_micros(1_500_000), &[0x45; 40]);
        c.record(Instant::from_micros(2_000_001), &[0x45; 20]);
        let bytes = c.finish().unwrap().unwrap();
        let mut r = PcapReader::new(&bytes[..]).unwrap();
        assert_eq!(r.header().datalink, DataLink::RAW);
        let p = r.next_packet().unwrap().unwrap();
        assert_eq!(p.timestamp, std::time::Duration::from_micros(1_500_000));
        assert_eq!((p.orig_len, p.data.len()), (40, 30));
        let p = r.next_packet().unwrap().unwrap();
        assert_eq!(p.timestamp, std::time::Duration::from_micros(2_000_001));
        assert!(r.next_packet().is_none());
    }
}
