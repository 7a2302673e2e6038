#!/usr/bin/env python3
"""The three runtime adapters side by side, in one run, interleaved.

Each round runs, for tokio, smol and mio in turn: `synack demo` (bulk
between two stacks in one process over UDP loopback) and `synack perf
--rr` (64-byte request/response, a server and a client process of that
runtime), plus the same request/response over kernel TCP as the baseline.
Prints the median of the rounds with the range, and each runtime's ratio
to tokio's. Usage:

    scripts/bench-runtimes.py [--rounds 3] [--bytes 1GiB] [--rr 20000]

Build first (the script does): cargo build --release -p synack-cli.
Run on a quiet machine: nothing else building or testing.
"""

import argparse
import statistics
import sys

from benchlib import build, perf_once, run_json, synack_binary

RUNTIMES = ["tokio", "smol", "mio"]


def demo(bin_, runtime, size):
    v = run_json([bin_, "demo", "--bytes", size, "--json", "--runtime", runtime])
    assert v["data_intact"], v
    return v["goodput_bps"] / 1e9


def request_response(bin_, kind, runtime, exchanges):
    """p50 and p99 in µs of 64-byte exchanges against a fresh server."""
    flag = "--udp" if kind == "synack" else "--kernel-tcp"
    v = perf_once(bin_, flag, ["--runtime", runtime], ["--rr", str(exchanges), "--size", "64"])
    return v["rr"]["p50_us"], v["rr"]["p99_us"]


def summary(values):
    med = statistics.median(values)
    return med, min(values), max(values)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bytes", default="1GiB")
    ap.add_argument("--rr", type=int, default=20000)
    args = ap.parse_args()
    build("-p", "synack-cli")
    bin_ = synack_binary()

    goodput = {rt: [] for rt in RUNTIMES}
    p50 = {rt: [] for rt in RUNTIMES + ["kernel"]}
    p99 = {rt: [] for rt in RUNTIMES + ["kernel"]}
    for r in range(args.rounds):
        for rt in RUNTIMES:
            goodput[rt].append(demo(bin_, rt, args.bytes))
            a, b = request_response(bin_, "synack", rt, args.rr)
            p50[rt].append(a)
            p99[rt].append(b)
        a, b = request_response(bin_, "kernel", "tokio", args.rr)
        p50["kernel"].append(a)
        p99["kernel"].append(b)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    print(f"{args.rounds} interleaved rounds; demo of {args.bytes}; {args.rr} exchanges of 64 bytes")
    print()
    print("| runtime | demo goodput, median (range) | ÷ tokio | rr p50, median (range) | p50 ÷ tokio | rr p99, median |")
    print("| --- | --- | --- | --- | --- | --- |")
    g_tokio = statistics.median(goodput["tokio"])
    l_tokio = statistics.median(p50["tokio"])
    for rt in RUNTIMES:
        g, glo, ghi = summary(goodput[rt])
        l, llo, lhi = summary(p50[rt])
        print(
            f"| {rt} | {g:.2f} Gbit/s ({glo:.2f}–{ghi:.2f}) | {g / g_tokio:.2f} "
            f"| {l:.1f} µs ({llo:.1f}–{lhi:.1f}) | {l / l_tokio:.2f} | {statistics.median(p99[rt]):.1f} µs |"
        )
    l, llo, lhi = summary(p50["kernel"])
    print(
        f"| kernel TCP (tokio::net) | — | — | {l:.1f} µs ({llo:.1f}–{lhi:.1f}) "
        f"| {l / l_tokio:.2f} | {statistics.median(p99['kernel']):.1f} µs |"
    )


if __name__ == "__main__":
    main()
