#!/usr/bin/env python3
"""Bulk throughput at MTU 1492 and at loopback's own MTU, side by side.

Each round runs, for tokio, smol and mio in turn and for each MTU
(`--mtu 1492`, then `--mtu auto`: 64 KiB segments on loopback): `synack
perf` bulk for --time seconds (a server and a client process of that
runtime, both with that MTU), then 64-byte request/response; and, once
per round, iperf3 (kernel TCP on loopback) and request/response over
kernel TCP as the baselines. Prints the median of the rounds with the
range. Usage:

    scripts/bench-mtu.py [--rounds 3] [--time 5] [--rr 20000]

Build first (the script does): cargo build --release -p synack-cli. The
binary is looked up in cargo's target directory (SYNACK_BIN overrides).
Run on a quiet machine: nothing else building or testing.
"""

import argparse
import statistics
import shutil
import sys

from benchlib import build, iperf3, perf_once, spread, synack_binary

RUNTIMES = ["tokio", "smol", "mio"]
MTUS = ["1492", "auto"]


def bulk(bin_, runtime, mtu, secs):
    v = perf_once(bin_, "--udp", ["--runtime", runtime, "--mtu", mtu], ["--time", f"{secs}s"])
    return v["goodput_bps"] / 1e9, v["retransmitted_segments"]


def rr(bin_, flag, runtime, mtu, exchanges):
    extra = ["--runtime", runtime] + (["--mtu", mtu] if flag == "--udp" else [])
    v = perf_once(bin_, flag, extra, ["--rr", str(exchanges), "--size", "64"])
    return v["rr"]["p50_us"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--time", type=int, default=5)
    ap.add_argument("--rr", type=int, default=20000)
    args = ap.parse_args()
    build("-p", "synack-cli")
    bin_ = synack_binary()
    have_iperf3 = shutil.which("iperf3") is not None

    configs = [(rt, mtu) for rt in RUNTIMES for mtu in MTUS]
    goodput = {c: [] for c in configs}
    retrans = {c: [] for c in configs}
    p50 = {c: [] for c in configs}
    kernel_bulk, kernel_p50 = [], []
    for r in range(args.rounds):
        for rt, mtu in configs:
            g, n = bulk(bin_, rt, mtu, args.time)
            goodput[(rt, mtu)].append(g)
            retrans[(rt, mtu)].append(n)
            p50[(rt, mtu)].append(rr(bin_, "--udp", rt, mtu, args.rr))
        if have_iperf3:
            kernel_bulk.append(iperf3(args.time))
        kernel_p50.append(rr(bin_, "--kernel-tcp", "tokio", None, args.rr))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    print(f"{args.rounds} interleaved rounds; bulk for {args.time} s; {args.rr} exchanges of 64 bytes")
    print()
    print("| runtime | MTU | bulk goodput, median (range) | auto ÷ 1492 | retransmitted, median | rr p50, median (range) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for rt, mtu in configs:
        g = statistics.median(goodput[(rt, mtu)])
        base = statistics.median(goodput[(rt, "1492")])
        label = "1492" if mtu == "1492" else "auto (65,527)"
        print(
            f"| {rt} | {label} | {spread(goodput[(rt, mtu)], 'Gbit/s', 2)} | {g / base:.2f} "
            f"| {statistics.median(retrans[(rt, mtu)]):.0f} | {spread(p50[(rt, mtu)], 'µs', 1)} |"
        )
    kb = spread(kernel_bulk, "Gbit/s", 2) if kernel_bulk else "—"
    print(f"| kernel TCP (iperf3; rr: tokio::net) | 65,536 | {kb} | — | — | {spread(kernel_p50, 'µs', 1)} |")


if __name__ == "__main__":
    main()
