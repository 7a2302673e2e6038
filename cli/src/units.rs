//! The parsers behind every flag that takes a quantity (rates, durations,
//! sizes, probabilities, queue sizes), one per kind, so each kind is
//! written the same way on every subcommand. Each returns a message clap
//! prints after the flag's name.

use synack_core::Duration;
use synack_sim::QueueLimit;

/// Splits `s` into its number and its (lower-cased) unit.
fn split(s: &str) -> Result<(f64, String), String> {
    let s = s.trim();
    let at = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-' || c == '+'))
        .unwrap_or(s.len());
    // "1e6" is a number but "1e" is not: let f64 decide.
    let (num, unit) = s.split_at(at);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' does not start with a number"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("'{s}' must be a non-negative number"));
    }
    Ok((value, unit.trim().to_ascii_lowercase()))
}

/// A bandwidth: `100mbit`, `1gbit`, `500kbit`, `2500000` (bit/s), `10mbps`
/// (megabits too; use `MB/s` for bytes).
pub fn rate(s: &str) -> Result<u64, String> {
    let (v, unit) = split(s)?;
    let scale = match unit.as_str() {
        "" | "bit" | "bps" | "bit/s" => 1.0,
        "k" | "kbit" | "kbps" | "kbit/s" => 1e3,
        "m" | "mbit" | "mbps" | "mbit/s" => 1e6,
        "g" | "gbit" | "gbps" | "gbit/s" => 1e9,
        "kb/s" => 8e3,
        "mb/s" => 8e6,
        "gb/s" => 8e9,
        _ => {
            return Err(format!(
                "unknown rate unit '{unit}' (use bit, kbit, mbit, gbit)"
            ));
        }
    };
    let bps = v * scale;
    if bps < 1.0 {
        return Err("the rate must be at least 1 bit/s".into());
    }
    Ok(bps.min(u64::MAX as f64) as u64)
}

/// A duration: `40ms`, `1.5s`, `250us`, `2m`, `1h`. A bare number other
/// than 0 is refused: `10` could mean seconds (iperf) or milliseconds.
pub fn duration(s: &str) -> Result<Duration, String> {
    let (v, unit) = split(s)?;
    let micros = match unit.as_str() {
        "" if v == 0.0 => 0.0,
        "" => {
            return Err(format!(
                "'{s}' needs a unit: {s}s, {s}ms, {s}us, {s}m or {s}h"
            ));
        }
        "us" | "µs" => v,
        "ms" => v * 1e3,
        "s" | "sec" => v * 1e6,
        "m" | "min" => v * 60e6,
        "h" => v * 3600e6,
        _ => return Err(format!("unknown time unit '{unit}' (use us, ms, s, m, h)")),
    };
    if micros > 1e15 {
        return Err("too long".into());
    }
    Ok(Duration::from_micros(micros.round() as u64))
}

/// A byte count: `50MB`, `1GB`, `64KiB`, `1500`.
pub fn size(s: &str) -> Result<u64, String> {
    let (v, unit) = split(s)?;
    let scale = match unit.as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "unknown size unit '{unit}' (use B, KB, MB, GB, KiB, MiB, GiB)"
            ));
        }
    };
    let bytes = v * scale;
    if bytes >= u64::MAX as f64 {
        return Err("too large".into());
    }
    Ok(bytes.round() as u64)
}

/// A probability: `1%`, `0.5%`, or a fraction `0.01`.
pub fn probability(s: &str) -> Result<f64, String> {
    let (v, unit) = split(s)?;
    let p = match unit.as_str() {
        "%" => v / 100.0,
        "" => v,
        _ => return Err(format!("'{s}' is not a probability (use 1% or 0.01)")),
    };
    if p > 1.0 {
        return Err(format!("'{s}' is more than 100%"));
    }
    Ok(p)
}

/// Gilbert–Elliott parameters `P,R`: the chances of entering and leaving
/// the losing state (each `1%` or `0.01`).
pub fn burst_loss(s: &str) -> Result<(f64, f64), String> {
    let (p, r) = s
        .split_once(',')
        .ok_or_else(|| format!("'{s}' is not P,R (e.g. 1%,30%)"))?;
    let (p, r) = (probability(p)?, probability(r)?);
    if r == 0.0 && p > 0.0 {
        return Err("R must be above 0, or the loss never ends".into());
    }
    Ok((p, r))
}

/// A queue size: `1bdp` or `0.5bdp` (of the base RTT), a packet count
/// (`100`), or bytes (`64KB`).
pub fn queue(s: &str) -> Result<QueueLimit, String> {
    let (v, unit) = split(s)?;
    match unit.as_str() {
        "bdp" if v > 0.0 => Ok(QueueLimit::Bdp(v)),
        "" | "p" | "pkt" | "packets" if v >= 1.0 && v.fract() == 0.0 => {
            Ok(QueueLimit::Packets(v as usize))
        }
        "bdp" | "" | "p" | "pkt" | "packets" => {
            Err(format!("'{s}' must be at least one packet or above 0 BDP"))
        }
        _ => size(s)
            .ok()
            .filter(|b| *b > 0)
            .map(|b| QueueLimit::Bytes(b as usize))
            .ok_or_else(|| format!("'{s}' is not a queue size (use 1bdp, 100 packets or 64KB)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse() {
        assert_eq!(rate("100mbit"), Ok(100_000_000));
        assert_eq!(rate("1Gbit"), Ok(1_000_000_000));
        assert_eq!(rate("2.5m"), Ok(2_500_000));
        assert_eq!(duration("40ms"), Ok(Duration::from_millis(40)));
        assert_eq!(duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("8s"), Ok(Duration::from_secs(8)));
        assert_eq!(duration("0"), Ok(Duration::ZERO));
        assert_eq!(size("50MB"), Ok(50_000_000));
        assert_eq!(size("64KiB"), Ok(65_536));
        assert_eq!(probability("1%"), Ok(0.01));
        assert_eq!(probability("0.25"), Ok(0.25));
        assert_eq!(burst_loss("1%,30%"), Ok((0.01, 0.3)));
        assert_eq!(queue("1bdp"), Ok(QueueLimit::Bdp(1.0)));
        assert_eq!(queue("100"), Ok(QueueLimit::Packets(100)));
        assert_eq!(queue("64KB"), Ok(QueueLimit::Bytes(64_000)));
    }

    #[test]
    fn bad_values_say_why() {
        for bad in ["", "fast", "-1mbit", "10furlongs", "0"] {
            assert!(rate(bad).is_err(), "{bad}");
        }
        assert!(duration("5 fortnights").is_err());
        assert!(duration("10").unwrap_err().contains("10s"));
        assert!(probability("150%").is_err());
        assert!(probability("1%%").is_err());
        assert!(burst_loss("1%").is_err());
        assert!(burst_loss("1%,0").is_err());
        assert!(queue("0").is_err());
        assert!(queue("1.5").is_err());
        assert!(size("NaN").is_err());
    }
}
