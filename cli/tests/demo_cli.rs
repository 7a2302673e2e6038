//! `synack demo` and `synack perf` end to end, on loopback.

use std::process::Command;

fn synack() -> Command {
    Command::new(env!("CARGO_BIN_EXE_synack"))
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
        .args(["demo", "--bytes", "8M", "--json"])
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
    assert_eq!(v["bytes"], 8 << 20);
    assert_eq!(v["data_intact"], true);
    assert_eq!(v["cc"], "newreno");
}

#[test]
fn demo_with_loss_and_cubic_still_delivers_everything() {
    let out = synack()
        .args([
            "demo", "--bytes", "2M", "--loss", "2%", "--cc", "cubic", "--json",
        ])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(v["data_intact"], true);
    assert_eq!(v["cc"], "cubic");
    assert!(v["retransmitted_segments"].as_u64().unwrap() > 0, "{v}");
}

#[test]
fn perf_client_reports_against_a_perf_server_over_udp() {
    // A free UDP port on loopback for the server.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut server = synack()
        .args(["perf", "server", "--udp", &addr, "--once"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let client = synack()
        .args(["perf", "client", "--udp", &addr, "--bytes", "4M", "--json"])
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
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Some(status) = server.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = server.kill();
            panic!("the perf server did not finish within 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
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
            panic!("the perf client did not finish within {limit:?}");
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
