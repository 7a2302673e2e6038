#!/usr/bin/env python3
"""synack beside its baselines, in one run, interleaved round by round.

Each round measures, in this order:
  bulk, one connection, loopback, --time seconds each:
    synack perf over UDP encapsulation (tokio) at loopback's own MTU
    (`--mtu auto`: 64 KiB segments) and at MTU 1492; kernel TCP (iperf3,
    and `synack perf --kernel-tcp`); quinn (QUIC, one stream, rustls with
    ring: synack-bench's quinn-perf); raw UDP (1472-byte datagrams,
    GSO/GRO);
  64-byte request/response p50, --rr exchanges: synack (tokio), kernel TCP
    (tokio::net), quinn;
  in memory, no I/O: one round of synack-bench's inmem bench (two synack
    endpoints, then two smoltcp 0.14 interfaces, same queues and loop);
  the simulator's packets per wall second at 1 Gbit/s x 1 ms and
    1 Gbit/s x 40 ms (1 GB each, seed 1).
Each round's ratios are computed within the round; the table gives each
value and each ratio as median (min-max) over the rounds. Usage:

    scripts/bench-compare.py [--rounds 3] [--time 10] [--rr 20000] [--mib 256]

Run on a quiet machine: nothing else building or testing. Kernel TCP on
loopback is 30-39 Gbit/s here when quiet; check the baseline rows before
quoting a ratio.
"""

import argparse
import json
import re
import subprocess
import sys

from benchlib import ROOT, Server, build, iperf3, perf_once, run_json, spread, synack_binary, target_dir


def rr_p50(v) -> float:
    return v["rr"]["p50_us"]


def inmem_round(mib):
    """One interleaved in-memory round: (synack, smoltcp) in Gbit/s."""
    out = subprocess.run(
        ["cargo", "bench", "-q", "-p", "synack-bench", "--bench", "inmem", "--",
         "--mib", str(mib), "--rounds", "1", "--json"],
        cwd=ROOT, capture_output=True, check=True, timeout=600,
    )
    v = json.loads(out.stdout.decode().strip().splitlines()[-1])
    return v["synack_bps_median"] / 1e9, v["smoltcp_bps_median"] / 1e9


def sim_packets_per_second(bin_, rtt) -> float:
    out = subprocess.run(
        [bin_, "sim", "--rate", "1gbit", "--rtt", rtt, "--bytes", "1GB"],
        capture_output=True, check=True, timeout=600, text=True,
    )
    m = re.search(r"packets \((\d+)/s\)", out.stdout)
    if not m:
        sys.exit(f"bench-compare: no packets-per-second in `synack sim` output:\n{out.stdout}")
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--time", type=int, default=10)
    ap.add_argument("--rr", type=int, default=20000)
    ap.add_argument("--mib", type=int, default=256)
    args = ap.parse_args()
    build("-p", "synack-cli", "-p", "synack-bench", "--features", "synack-bench/quinn",
          "--bin", "synack", "--bin", "quinn-perf")
    bin_ = synack_binary()
    quinn = str(target_dir() / "release" / "quinn-perf")
    secs = f"{args.time}s"

    v = {k: [] for k in [
        "synack_auto", "synack_1492", "iperf3", "kernel_perf", "quinn", "raw_udp",
        "rr_synack", "rr_kernel", "rr_quinn", "mem_synack", "mem_smoltcp", "sim_1ms", "sim_40ms",
    ]}
    with Server([quinn, "server", "{addr}"]) as quinn_server:
        for r in range(args.rounds):
            for mtu in ["auto", "1492"]:
                c = perf_once(bin_, "--udp", ["--mtu", mtu], ["--time", secs])
                v[f"synack_{mtu}"].append(c["goodput_bps"] / 1e9)
            v["iperf3"].append(iperf3(args.time))
            c = perf_once(bin_, "--kernel-tcp", [], ["--time", secs])
            v["kernel_perf"].append(c["goodput_bps"] / 1e9)
            c = run_json([quinn, "client", quinn_server.addr, "--time", secs, "--json"], 120)
            v["quinn"].append(c["goodput_bps"] / 1e9)
            c = perf_once(bin_, "--raw-udp", [], ["--time", secs])
            v["raw_udp"].append(c["goodput_bps"] / 1e9)

            rr = ["--rr", str(args.rr), "--size", "64"]
            v["rr_synack"].append(rr_p50(perf_once(bin_, "--udp", [], rr)))
            v["rr_kernel"].append(rr_p50(perf_once(bin_, "--kernel-tcp", [], rr)))
            v["rr_quinn"].append(rr_p50(run_json([quinn, "client", quinn_server.addr, *rr, "--json"], 300)))

            s, m = inmem_round(args.mib)
            v["mem_synack"].append(s)
            v["mem_smoltcp"].append(m)
            v["sim_1ms"].append(sim_packets_per_second(bin_, "1ms"))
            v["sim_40ms"].append(sim_packets_per_second(bin_, "40ms"))
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    def ratio(a, b):
        return [x / y for x, y in zip(v[a], v[b])]

    print(f"{args.rounds} interleaved rounds; bulk for {args.time} s; {args.rr} exchanges of 64 bytes; "
          f"{args.mib} MiB in memory; simulator 1 GB per run. Median (min–max) over the rounds.")
    print()
    print("| measurement | result | synack ÷ it (per round) |")
    print("| --- | --- | --- |")
    g = "Gbit/s"
    print(f"| synack bulk, UDP, tokio, MTU auto (65,527) | {spread(v['synack_auto'], g)} | 1 |")
    print(f"| synack bulk, UDP, tokio, MTU 1492 | {spread(v['synack_1492'], g)} | — |")
    print(f"| kernel TCP bulk (iperf3) | {spread(v['iperf3'], g)} | {spread(ratio('synack_auto', 'iperf3'))} |")
    print(f"| kernel TCP bulk (synack perf --kernel-tcp) | {spread(v['kernel_perf'], g)} "
          f"| {spread(ratio('synack_auto', 'kernel_perf'))} |")
    print(f"| quinn bulk, one stream | {spread(v['quinn'], g)} | {spread(ratio('synack_auto', 'quinn'))} "
          f"(MTU 1492: {spread(ratio('synack_1492', 'quinn'))}) |")
    print(f"| raw UDP, 1472-byte datagrams, GSO | {spread(v['raw_udp'], g)} "
          f"| {spread(ratio('synack_auto', 'raw_udp'))} |")
    print(f"| synack 64-byte request/response p50 | {spread(v['rr_synack'], 'µs', 1)} | 1 |")
    print(f"| kernel TCP request/response p50 | {spread(v['rr_kernel'], 'µs', 1)} "
          f"| latency × {spread(ratio('rr_synack', 'rr_kernel'))} |")
    print(f"| quinn request/response p50 | {spread(v['rr_quinn'], 'µs', 1)} "
          f"| latency × {spread(ratio('rr_synack', 'rr_quinn'))} |")
    print(f"| in memory: synack endpoints | {spread(v['mem_synack'], g)} | 1 |")
    print(f"| in memory: smoltcp 0.14 interfaces | {spread(v['mem_smoltcp'], g)} "
          f"| {spread(ratio('mem_synack', 'mem_smoltcp'))} |")
    kp = [x / 1e3 for x in v["sim_1ms"]]
    print(f"| simulator, 1 Gbit/s × 1 ms | {spread(kp, 'k packets/s', 0)} | — |")
    kp = [x / 1e3 for x in v["sim_40ms"]]
    print(f"| simulator, 1 Gbit/s × 40 ms | {spread(kp, 'k packets/s', 0)} "
          f"| 40 ms ÷ 1 ms: {spread(ratio('sim_40ms', 'sim_1ms'))} |")


if __name__ == "__main__":
    main()
