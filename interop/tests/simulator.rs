//! Wireshark's verdict on the simulator's captures: the same check the
//! kernel interop tests apply, on pcaps of synack-core connections in
//! virtual time. Clean scenarios must have no expert error at all; in
//! `corrupt`, where the simulated link flips bits on purpose, the errors
//! must be bad checksums (or packets a flip made malformed), no more than
//! the link corrupted, and at least one.

use synack_interop::lab::ArtifactDir;
use synack_interop::verdict::{Severity, Verdict};
use synack_sim::{CaptureSpec, catalogue};

/// Runs scenario `name` with captures under `dir`; its verdicts and how
/// many packets the links corrupted.
fn run(name: &str, dir: &std::path::Path) -> (Vec<Verdict>, u64) {
    let scenario = catalogue::find(name).unwrap_or_else(|| panic!("no scenario {name}"));
    let mut cfg = scenario.config();
    let prefix = dir.join(name);
    cfg.capture = Some(CaptureSpec {
        prefix: Some(prefix.clone()),
        snaplen: Some(128),
    });
    let report = synack_sim::run(cfg).expect("scenario runs");
    (scenario.check)(&report).unwrap_or_else(|e| panic!("{name}: its own criterion: {e}"));
    assert!(
        report.capture_error.is_none(),
        "{name}: {:?}",
        report.capture_error
    );
    let mut verdicts = Vec::new();
    for (host, _) in &report.captures {
        let file = std::path::PathBuf::from(format!("{}-{host}.pcap", prefix.display()));
        let v = Verdict::of(&file).expect("tshark");
        eprint!("[interop] sim {name}: {v}");
        verdicts.push(v);
    }
    if verdicts.is_empty() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.to_string_lossy().contains(name) {
                let v = Verdict::of(&path).expect("tshark");
                eprint!("[interop] sim {name}: {v}");
                verdicts.push(v);
            }
        }
    }
    assert!(!verdicts.is_empty(), "{name}: no capture written");
    let corrupted = report.links[0].corrupted + report.links[1].corrupted;
    (verdicts, corrupted)
}

#[test]
fn simulator_captures_pass_the_verdict() {
    let case = "sim-verdict";
    if !synack_testkit::require(case, &[synack_testkit::Need::Tool("tshark")]) {
        return;
    }
    let started = std::time::Instant::now();
    let dir = ArtifactDir::new(case).unwrap();
    let mut frames = 0;
    for name in [
        "handshake-syn-loss",
        "reorder",
        "zero-window",
        "simultaneous-close",
    ] {
        let (verdicts, corrupted) = run(name, dir.path());
        assert_eq!(corrupted, 0, "{name} corrupts nothing");
        for v in &verdicts {
            v.check().unwrap_or_else(|e| panic!("sim {name}: {e}"));
            frames += v.frames;
        }
    }
    // Bit flips on purpose: every error is one of them.
    let (verdicts, corrupted) = run("corrupt", dir.path());
    let mut flagged = 0;
    for v in &verdicts {
        frames += v.frames;
        for e in v.errors() {
            assert!(
                e.group == "Checksum" || e.group == "Malformed",
                "sim corrupt: an error that no bit flip explains: {e:?}"
            );
            flagged += e.count;
        }
        assert_eq!(v.total(Severity::Error), v.bad_checksums() + v.malformed());
    }
    // A flip in an address breaks both the IPv4 and the TCP checksum.
    assert!(
        flagged > 0 && flagged <= 2 * corrupted,
        "sim corrupt: {flagged} errors for {corrupted} corrupted packets"
    );
    eprintln!(
        "[interop] SUMMARY {case}: ok in {:.1} s; 5 scenarios, {frames} frames; corrupt: {corrupted} packets flipped, {flagged} checksum/malformed errors",
        started.elapsed().as_secs_f64()
    );
}
