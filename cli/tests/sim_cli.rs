//! `synack sim` as a person runs it: the catalogue list, one-line flag
//! errors with status 2, the JSON summary's keys, captures that tshark
//! reads, a plot, and output into a pipe whose reader went away.

use std::path::PathBuf;
use std::process::{Command, Output};

use synack_testkit::Need;

fn synack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_synack"))
        .args(args)
        .output()
        .expect("the synack binary runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synack-sim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn list_names_the_catalogue() {
    let out = synack(&["sim", "--list"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for name in [
        "handshake-syn-loss",
        "long-fat-path",
        "keepalive-idle",
        "flows-8",
    ] {
        assert!(text.lines().any(|l| l.starts_with(name)), "{name} missing");
    }
}

/// `synack sim --list | head -1`: the reader leaves before the report is
/// written, and the command stops quietly with status 0 instead of
/// panicking in a print.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    let (status, stderr) = synack_testkit::run_with_closed_stdout(
        Command::new(env!("CARGO_BIN_EXE_synack")).args(["sim", "--list"]),
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[test]
fn bad_values_are_one_line_errors_naming_the_flag() {
    for (args, flag) in [
        (&["sim", "--rate", "fast"][..], "--rate"),
        (&["sim", "--loss", "150%"], "--loss"),
        (&["sim", "--burst-loss", "1%"], "--burst-loss"),
        (&["sim", "--queue", "0"], "--queue"),
        (&["sim", "--flows", "0"], "--flows"),
        (&["sim", "--cc", "vegas"], "--cc"),
        (&["sim", "--aqm", "red"], "--aqm"),
        (&["sim", "--scenario", "nope"], "--scenario"),
        (&["sim", "--mtu", "20"], "--mtu"),
        // The same parsers serve every subcommand.
        (&["perf", "client", "--time", "8"], "--time"),
        (&["perf", "client", "--bytes", "8 bananas"], "--bytes"),
        (&["demo", "--bytes", "1T"], "--bytes"),
        (&["demo", "--loss", "150%"], "--loss"),
    ] {
        let out = synack(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?}: {err}");
    }
}

#[test]
fn json_summary_has_the_documented_keys() {
    let out = synack(&["sim", "--scenario", "tail-loss", "--json", "--seed", "1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON only");
    for key in [
        "scenario",
        "seed",
        "virtual_seconds",
        "wall_seconds",
        "link_utilization",
        "jain_index",
        "aqm",
        "queue_delay_ms_mean",
        "queue_delay_ms_p99",
        "ecn_marks",
        "flows",
    ] {
        assert!(v.get(key).is_some(), "{key}");
    }
    let flow = &v["flows"][0];
    for key in [
        "cc",
        "bytes_sent_app",
        "bytes_delivered",
        "data_intact",
        "goodput_bps",
        "retransmitted_segments",
        "retransmitted_bytes",
        "rto_timeouts",
        "tlp_probes",
        "spurious_retransmissions",
        "min_rtt_ms",
        "mean_srtt_ms",
        "completion_seconds",
        "final_state",
        "error",
        "ecn",
        "ce_marks",
        "ecn_responses",
    ] {
        assert!(flow.get(key).is_some(), "{key}");
    }
    assert_eq!(v["scenario"], "tail-loss");
    assert_eq!(v["aqm"], "droptail");
    assert_eq!(flow["data_intact"], true);
    assert_eq!(flow["bytes_delivered"], 1_000_000);
}

#[test]
fn custom_flags_shape_the_run() {
    let out = synack(&[
        "sim", "--rate", "20mbit", "--rtt", "10ms", "--flows", "2", "--bytes", "300KB", "--cc",
        "cubic", "--loss", "1%", "--json",
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let flows = v["flows"].as_array().unwrap();
    assert_eq!(flows.len(), 2);
    for f in flows {
        assert_eq!(f["cc"], "cubic");
        assert_eq!(f["bytes_delivered"], 300_000);
        assert!(f["min_rtt_ms"].as_f64().unwrap() >= 10.0);
    }
}

#[test]
fn aqm_flag_picks_the_queue_and_its_delay_is_reported() {
    // 20 Mbit/s × 20 ms with a 10-BDP (200 ms) queue: drop-tail lets a
    // greedy flow fill it, CoDel keeps it near its 5 ms target.
    let delay = |aqm: &str| {
        let out = synack(&[
            "sim", "--rate", "20mbit", "--rtt", "20ms", "--queue", "10bdp", "--bytes", "10MB",
            "--cc", "cubic", "--aqm", aqm, "--json",
        ]);
        assert!(out.status.success(), "{aqm}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["aqm"], aqm);
        assert_eq!(v["flows"][0]["data_intact"], true, "{aqm}");
        (
            v["queue_delay_ms_mean"].as_f64().unwrap(),
            v["queue_delay_ms_p99"].as_f64().unwrap(),
        )
    };
    let tail = delay("droptail");
    let codel = delay("codel");
    let fq = delay("fq-codel");
    assert!(tail.0 > 4.0 * codel.0, "drop-tail {tail:?} codel {codel:?}");
    assert!(tail.1 > codel.1, "drop-tail {tail:?} codel {codel:?}");
    assert!(tail.0 > 4.0 * fq.0, "drop-tail {tail:?} fq-codel {fq:?}");
}

#[test]
fn ecn_flag_turns_codels_drops_into_marks() {
    let run = |ecn: bool| {
        let mut args = vec![
            "sim", "--rate", "20mbit", "--rtt", "20ms", "--queue", "10bdp", "--bytes", "5MB",
            "--flows", "2", "--cc", "cubic", "--aqm", "codel", "--json",
        ];
        if ecn {
            args.push("--ecn");
        }
        let out = synack(&args);
        assert!(out.status.success(), "{ecn}");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let (with, without) = (run(true), run(false));
    assert!(with["ecn_marks"].as_u64().unwrap() > 0);
    assert_eq!(without["ecn_marks"], 0);
    for f in with["flows"].as_array().unwrap() {
        assert_eq!(f["ecn"], true);
        assert_eq!(f["retransmitted_segments"], 0);
        assert!(f["ce_marks"].as_u64().unwrap() > 0);
    }
    for f in without["flows"].as_array().unwrap() {
        assert_eq!(f["ecn"], false);
        assert!(f["retransmitted_segments"].as_u64().unwrap() > 0);
    }
}

#[test]
fn captures_are_reproducible_and_tshark_reads_them() {
    let a = scratch("a");
    let b = scratch("b");
    for prefix in [&a, &b] {
        let out = synack(&[
            "sim",
            "--scenario",
            "handshake-syn-loss",
            "--pcap",
            prefix.to_str().unwrap(),
            "--json",
        ]);
        assert!(out.status.success());
    }
    let read = |p: &PathBuf, host: &str| {
        let mut name = p.as_os_str().to_owned();
        name.push(format!("-{host}.pcap"));
        std::fs::read(name).unwrap()
    };
    for host in ["client1", "server"] {
        assert_eq!(
            read(&a, host),
            read(&b, host),
            "{host}: same seed, same bytes"
        );
    }
    let mut client = a.as_os_str().to_owned();
    client.push("-client1.pcap");
    if synack_testkit::require("the capture's tshark check", &[Need::Tool("tshark")]) {
        let out = Command::new("tshark")
            .arg("-r")
            .arg(&client)
            .arg("-c")
            .arg("2")
            .output()
            .expect("run tshark");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "tshark -r failed: {text}");
        assert!(text.contains("[SYN]"), "{text}");
    }
}

#[test]
fn plots_are_drawn_as_png_and_svg() {
    for ext in ["png", "svg"] {
        let path = scratch(&format!("plot.{ext}"));
        let out = synack(&[
            "sim",
            "--scenario",
            "flows-2",
            "--bytes",
            "2MB",
            "--plot",
            path.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.len() > 10_000, "{ext}: {} bytes", bytes.len());
    }
    let out = synack(&["sim", "--bytes", "10KB", "--plot", "/nonexistent/x.gif"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--plot"));
}

#[test]
fn bbr_is_selectable() {
    let out = synack(&[
        "sim", "--rate", "20mbit", "--rtt", "10ms", "--bytes", "1MB", "--cc", "bbr", "--json",
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &v["flows"][0];
    assert_eq!(f["cc"], "bbr");
    assert_eq!(f["bytes_delivered"], 1_000_000);
}
