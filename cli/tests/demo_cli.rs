//! `synack demo` and `synack perf` end to end, on loopback.

use std::process::Command;

fn synack() -> Command {
    Command::new(env!("CARGO_BIN_EXE_synack"))
}

/// A `synack perf server --once` on a free UDP port of loopback, with
/// `extra` flags, given time to bind; and its address.
fn perf_server(extra: &[&str]) -> (std::process::Child, String) {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let server = synack()
        .args(["perf", "server", "--udp", &addr, "--once"])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    (server, addr)
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn demo_json_has_the_promised_keys_and_intact_data() {
    let out = synack()
        .args(["demo", "--bytes", "8MiB", "--json"])
        .output()
        .unwrap();
    let v = json_of(&out);
    for key in [
        "bytes",
        "seconds",
        "goodput_bps",
        "data_intact",
        "srtt_ms",
        "retransmitted_segments",
        "cc",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    for key in ["timeouts", "fast_recoveries", "tail_loss_probes", "cwnd"] {
        assert!(v[key].is_u64(), "missing {key}: {v}");
    }
    assert_eq!(v["bytes"], 8 << 20);
    assert_eq!(v["data_intact"], true);
    assert_eq!(v["cc"], "newreno");
}

#[test]
fn demo_with_loss_and_cubic_still_delivers_everything() {
    // Ethernet-sized segments: 2 MiB is ~1450 of them, so 2 % loss drops
    // some for certain (loopback's own 64 KiB segments would be 32).
    let out = synack()
        .args([
            "demo", "--bytes", "2MiB", "--loss", "2%", "--cc", "cubic", "--mtu", "1492", "--json",
        ])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(v["data_intact"], true);
    assert_eq!(v["cc"], "cubic");
    assert!(v["retransmitted_segments"].as_u64().unwrap() > 0, "{v}");
    // Losses were repaired by some means the counters name.
    let repairs = ["timeouts", "fast_recoveries", "tail_loss_probes"]
        .map(|k| v[k].as_u64().unwrap())
        .iter()
        .sum::<u64>();
    assert!(repairs > 0, "{v}");
}

#[test]
fn demo_runs_on_every_runtime() {
    for runtime in ["tokio", "smol", "mio"] {
        let out = synack()
            .args(["demo", "--bytes", "4MiB", "--json", "--runtime", runtime])
            .output()
            .unwrap();
        let v = json_of(&out);
        assert_eq!(v["runtime"], runtime, "{v}");
        assert_eq!(v["bytes"], 4 << 20, "{v}");
        assert_eq!(v["data_intact"], true, "{runtime}: {v}");
    }
}

#[test]
fn perf_server_and_client_on_different_runtimes_agree() {
    // Each pair: the server's runtime, the client's, and whether the
    // client runs request/response instead of bulk.
    for (server_rt, client_rt, rr) in [
        ("mio", "smol", false),
        ("smol", "mio", true),
        ("tokio", "mio", true),
    ] {
        let (server, addr) = perf_server(&["--runtime", server_rt]);
        let mut client = synack();
        client.args([
            "perf",
            "client",
            "--udp",
            &addr,
            "--json",
            "--runtime",
            client_rt,
        ]);
        if rr {
            client.args(["--rr", "500"]);
        } else {
            client.args(["--bytes", "4MiB"]);
        }
        let client = client.stdout(std::process::Stdio::piped()).spawn().unwrap();
        let out = finish_within(client, std::time::Duration::from_secs(120));
        let v = json_of(&out);
        assert_eq!(v["runtime"], client_rt, "{v}");
        if rr {
            assert_eq!(v["rr"]["exchanges"], 500, "{server_rt}→{client_rt}: {v}");
            assert!(v["rr"]["p50_us"].as_f64().unwrap() > 0.0, "{v}");
        } else {
            assert_eq!(v["bytes"], 4 << 20, "{server_rt}→{client_rt}: {v}");
        }
        let out = finish_within(server, std::time::Duration::from_secs(60));
        assert!(out.status.success(), "{server_rt} server failed");
    }
}

#[test]
fn perf_client_reports_against_a_perf_server_over_udp() {
    let (server, addr) = perf_server(&["--stats", "--stats-interval", "50ms"]);
    let client = synack()
        .args([
            "perf", "client", "--udp", &addr, "--bytes", "4MiB", "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = finish_within(client, std::time::Duration::from_secs(120));
    let v = json_of(&out);
    assert_eq!(v["bytes"], 4 << 20);
    for key in [
        "seconds",
        "goodput_bps",
        "retransmitted_segments",
        "srtt_ms",
        "cc",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    let out = finish_within(server, std::time::Duration::from_secs(60));
    assert!(out.status.success());
    // The client's mode byte ('S'), then the stream.
    check_stats_lines(&String::from_utf8_lossy(&out.stdout), 1 + (4 << 20));
}

/// `--stats` printed JSON lines: periodic snapshots, the served
/// connection's counters when it ended, and a final snapshot with every
/// endpoint counter an operator under attack looks for.
fn check_stats_lines(stdout: &str, bytes: u64) {
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let of = |kind: &'static str| -> Vec<&serde_json::Value> {
        lines.iter().filter(|v| v["report"] == kind).collect()
    };
    assert!(!of("interval").is_empty(), "no periodic report: {stdout}");
    let closed = of("closed");
    assert_eq!(closed.len(), 1, "{stdout}");
    assert_eq!(closed[0]["bytes_received"], bytes);
    for key in ["paws", "out_of_window", "ack_of_unsent", "bad_reset"] {
        assert_eq!(closed[0]["drops"][key], 0, "{key}: {}", closed[0]);
    }
    assert!(closed[0]["challenge_acks"].is_u64());
    let last = lines.last().expect("a final report");
    assert_eq!(last["report"], "final");
    let endpoint = &last["endpoint"];
    for key in [
        "cookies_sent",
        "cookies_accepted",
        "rsts_sent",
        "rsts_rate_limited",
        "connections_opened",
    ] {
        assert!(endpoint[key].is_u64(), "missing {key}: {endpoint}");
    }
    for key in [
        "malformed",
        "no_connection",
        "syn_fin",
        "bad_cookie",
        "total",
    ] {
        assert!(endpoint["drops"][key].is_u64(), "missing {key}: {endpoint}");
    }
    // Each table lists only the reasons counted at its own site.
    assert!(endpoint["drops"]["paws"].is_null(), "{endpoint}");
    assert!(closed[0]["drops"]["malformed"].is_null(), "{}", closed[0]);
    assert!(closed[0]["drops"]["total"].is_u64(), "{}", closed[0]);
    assert_eq!(endpoint["connections_opened"], 1);
    assert!(last["connections"].is_array());
}

/// Waits for `child` at most `limit`, killing it (and failing) after that,
/// so a stalled transfer cannot hang the suite.
fn finish_within(
    mut child: std::process::Child,
    limit: std::time::Duration,
) -> std::process::Output {
    let deadline = std::time::Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the synack process did not finish within {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn bad_arguments_are_refused_with_a_reason() {
    let out = synack().args(["demo", "--loss", "150%"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loss"));
}

#[test]
fn demo_with_bbr_delivers_everything() {
    let out = synack()
        .args(["demo", "--bytes", "1MiB", "--cc", "bbr", "--json"])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(v["data_intact"], true);
    assert_eq!(v["cc"], "bbr");
}
