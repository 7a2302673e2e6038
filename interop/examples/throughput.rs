//! Throughput of synack↔kernel beside kernel↔kernel over TUN paths, in
//! private network namespaces (needs root, /dev/net/tun, ip, tcpdump and
//! tshark). Build in release for numbers worth comparing:
//!
//! ```sh
//! cargo run --release -p synack-interop --example throughput -- 1G
//! ```
//!
//! The argument is the bytes to move each way (K, M, G suffixes; 200M by
//! default).

fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, 'K' | 'k') => (&s[..i], 1_000),
        (i, 'M' | 'm') => (&s[..i], 1_000_000),
        (i, 'G' | 'g') => (&s[..i], 1_000_000_000),
        _ => (s, 1),
    };
    num.parse::<u64>().ok().map(|n| n * mult)
}

fn main() {
    let arg = std::env::args().nth(1).unwrap_or_else(|| "200M".into());
    let Some(bytes) = parse_bytes(&arg) else {
        eprintln!("usage: throughput [BYTES, e.g. 200M or 1G]");
        std::process::exit(2);
    };
    if let Some(why) = synack_interop::env::missing() {
        eprintln!("cannot run: {why}");
        std::process::exit(1);
    }
    let rows = synack_interop::topo::throughput("throughput-example", bytes);
    println!("| path | bytes | Mbit/s |");
    println!("| --- | ---: | ---: |");
    for r in rows {
        println!("| {} | {} | {:.0} |", r.label, r.bytes, r.mbit_per_s);
    }
}
