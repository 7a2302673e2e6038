//! Arbitrary bytes into the TCP decoder: `TcpPacket::new_checked`,
//! `TcpRepr::parse` in both checksum modes, and `TcpOptions::parse`.
//!
//! Beyond "no panic" it asserts that
//! - whatever parses emits again (both checksum modes) and re-parses to the
//!   same `TcpRepr`, and emitting that re-parse gives the same bytes;
//! - a full-checksum parse implies a skip-checksum parse of the same repr,
//!   and a skip-checksum error shows up in full mode too (or as a bad
//!   checksum, which full mode checks first);
//! - `TcpRepr::parse_bytes` agrees with `new_checked` + `parse`;
//! - options parsed from at most 40 bytes always emit (in at most 40) and
//!   re-parse to the same value; longer option soups either emit and
//!   round-trip or are refused with `OptionsTooLong`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use synack_core::wire::{
    ChecksumMode, Error, MAX_OPTIONS_LEN, TcpOptionIter, TcpOptions, TcpPacket, TcpRepr,
};
use synack_fuzz::{addr_pair, check_options_round_trip};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let addrs = addr_pair(selector);

    // The option decoder alone, on the whole input.
    assert!(TcpOptionIter::new(bytes).count() <= bytes.len());
    if let Ok(opts) = TcpOptions::parse(bytes) {
        check_options_round_trip(&opts, bytes.len() <= MAX_OPTIONS_LEN);
    }

    let checked = TcpPacket::new_checked(bytes);
    let mut parsed = [None, None];
    for (i, mode) in [ChecksumMode::Full, ChecksumMode::Skip]
        .into_iter()
        .enumerate()
    {
        let via_bytes = TcpRepr::parse_bytes(bytes, &addrs, mode);
        let packet = match &checked {
            Ok(p) => p,
            Err(e) => {
                assert_eq!(via_bytes, Err(*e), "parse_bytes disagrees with new_checked");
                continue;
            }
        };
        let result = TcpRepr::parse(packet, &addrs, mode);
        assert_eq!(result, via_bytes, "parse_bytes disagrees with parse");
        parsed[i] = Some(result);
    }
    let (Some(full), Some(skip)) = (parsed[0], parsed[1]) else {
        return;
    };
    match (&full, &skip) {
        (Ok(f), Ok(s)) => assert_eq!(f, s, "the checksum mode changed the repr"),
        (Ok(_), Err(e)) => panic!("full checksum parses but skip fails with {e:?}"),
        (Err(f), Err(s)) => assert!(
            f == s || *f == Error::BadChecksum,
            "full fails with {f:?}, skip with {s:?}"
        ),
        (Err(f), Ok(_)) => assert_eq!(*f, Error::BadChecksum, "only the checksum may differ"),
    }
    let Ok(repr) = skip else { return };
    let packet = checked.expect("parsed, so checked");
    if full.is_ok() {
        assert!(packet.verify_checksum(&addrs));
    }

    // What the repr says about the bytes.
    let header_len = packet.header_len();
    assert_eq!(repr.payload, &bytes[header_len..]);
    assert_eq!(
        repr.segment_len(),
        repr.payload.len()
            + usize::from(repr.flags.contains(synack_core::wire::TcpFlags::SYN))
            + usize::from(repr.flags.contains(synack_core::wire::TcpFlags::FIN))
    );
    check_options_round_trip(&repr.options, true);

    // Emit and re-parse, in both modes. Emission normalises the option
    // layout (Linux's, 4-byte aligned), so the length may differ from the
    // input's, but the options always fit the 40 bytes a header has.
    assert!(repr.options.wire_len() <= MAX_OPTIONS_LEN);
    for mode in [ChecksumMode::Full, ChecksumMode::Skip] {
        let mut out = vec![0u8; repr.buffer_len() + 3];
        let n = repr
            .emit(&mut out, &addrs, mode)
            .expect("a parsed repr emits");
        assert_eq!(n, repr.buffer_len());
        let again = TcpRepr::parse_bytes(&out[..n], &addrs, mode).expect("emitted bytes parse");
        assert_eq!(again, repr, "emit then parse is not the identity");
        if mode == ChecksumMode::Full {
            assert!(
                TcpPacket::new_checked(&out[..n])
                    .unwrap()
                    .verify_checksum(&addrs)
            );
        }
        // Emission is a fixed point: the re-parse emits the same bytes.
        let mut out2 = vec![0u8; n];
        assert_eq!(again.emit(&mut out2, &addrs, mode), Ok(n));
        assert_eq!(out2[..], out[..n]);
        // A buffer one byte short is refused, not overrun.
        if n > 0 {
            let mut short = vec![0u8; n - 1];
            assert!(matches!(
                repr.emit(&mut short, &addrs, mode),
                Err(Error::BufferTooSmall { .. })
            ));
        }
    }
});
