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
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "synack"
RUNTIMES = ["tokio", "smol", "mio"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_json(args, timeout=600):
    out = subprocess.run([str(BIN), *args], capture_output=True, timeout=timeout, check=True)
    return json.loads(out.stdout)


def demo(runtime, size):
    v = run_json(["demo", "--bytes", size, "--json", "--runtime", runtime])
    assert v["data_intact"], v
    return v["goodput_bps"] / 1e9


def request_response(kind, runtime, exchanges):
    """p50 and p99 in µs of 64-byte exchanges against a fresh server."""
    port = free_port()
    addr = f"127.0.0.1:{port}"
    flag = "--udp" if kind == "synack" else "--kernel-tcp"
    server = subprocess.Popen(
        [str(BIN), "perf", "server", flag, addr, "--once", "--runtime", runtime],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.3)
        v = run_json(
            ["perf", "client", flag, addr, "--rr", str(exchanges), "--size", "64",
             "--json", "--runtime", runtime]
        )
        server.wait(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
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
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "synack-cli"], cwd=ROOT, check=True)

    goodput = {rt: [] for rt in RUNTIMES}
    p50 = {rt: [] for rt in RUNTIMES + ["kernel"]}
    p99 = {rt: [] for rt in RUNTIMES + ["kernel"]}
    for r in range(args.rounds):
        for rt in RUNTIMES:
            goodput[rt].append(demo(rt, args.bytes))
            a, b = request_response("synack", rt, args.rr)
            p50[rt].append(a)
            p99[rt].append(b)
        a, b = request_response("kernel", "tokio", args.rr)
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
