#!/usr/bin/env bash
# Side-by-side throughput and latency on loopback, measured in one run:
#   synack perf over UDP encapsulation   vs  kernel TCP (iperf3, and synack
#   perf's own kernel-TCP mode)           vs  raw UDP (GSO/GRO blast);
#   quinn (QUIC over UDP, rustls with ring: synack-bench's quinn-perf);
#   64-byte request/response latency, synack vs kernel TCP vs quinn;
#   synack demo (1 GiB by default);
#   in memory, no I/O: synack's endpoints vs smoltcp's interfaces over the
#   same packet queues (synack-bench's inmem bench, INMEM_MIB MiB, 256 by
#   default, 3 interleaved rounds).
# Prints a table with ratios. Usage: scripts/bench-compare.sh [SECONDS] [DEMO_BYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
demo_bytes=${2:-1G}
rr=${RR:-20000}
inmem_mib=${INMEM_MIB:-256}

cargo build --release -q -p synack-cli -p synack-bench --features synack-bench/quinn \
    --bin synack --bin quinn-perf
# The target directory as cargo sees it (it may be set from outside).
target=$(cargo metadata --format-version 1 --no-deps | python3 -c "import json,sys; print(json.load(sys.stdin)['target_directory'])")
bin=$target/release/synack
quinn=$target/release/quinn-perf
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# Ports on 127.0.0.1 only.
$bin perf server --udp 127.0.0.1:15201 2>/dev/null & pids+=($!)
$bin perf server --kernel-tcp 127.0.0.1:15202 2>/dev/null & pids+=($!)
$bin perf server --raw-udp 127.0.0.1:15203 2>/dev/null & pids+=($!)
$quinn server 127.0.0.1:15205 2>/dev/null & pids+=($!)
have_iperf3=0
if command -v iperf3 >/dev/null; then
    iperf3 -s -B 127.0.0.1 -p 15204 >/dev/null 2>&1 & pids+=($!)
    have_iperf3=1
fi
sleep 1

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

echo "bench-compare: ${secs} s per throughput run, $rr request/response exchanges, demo of $demo_bytes" >&2
synack_bps=$($bin perf client --udp 127.0.0.1:15201 --time "${secs}s" --json | json 'd["goodput_bps"]')
quinn_bps=$($quinn client 127.0.0.1:15205 --time "${secs}s" --json | json 'd["goodput_bps"]')
kernel_bps=$($bin perf client --kernel-tcp 127.0.0.1:15202 --time "${secs}s" --json | json 'd["goodput_bps"]')
raw_bps=$($bin perf client --raw-udp 127.0.0.1:15203 --time "${secs}s" --json | json 'd["goodput_bps"]')
iperf_bps=0
if [ $have_iperf3 = 1 ]; then
    iperf_bps=$(iperf3 -c 127.0.0.1 -p 15204 -t "$secs" -J | json 'd["end"]["sum_received"]["bits_per_second"]')
fi
synack_rr=$($bin perf client --udp 127.0.0.1:15201 --rr "$rr" --size 64 --json | json '"%.1f %.1f %.1f" % (d["rr"]["mean_us"], d["rr"]["p50_us"], d["rr"]["p99_us"])')
quinn_rr=$($quinn client 127.0.0.1:15205 --rr "$rr" --size 64 --json | json '"%.1f %.1f %.1f" % (d["rr"]["mean_us"], d["rr"]["p50_us"], d["rr"]["p99_us"])')
kernel_rr=$($bin perf client --kernel-tcp 127.0.0.1:15202 --rr "$rr" --size 64 --json | json '"%.1f %.1f %.1f" % (d["rr"]["mean_us"], d["rr"]["p50_us"], d["rr"]["p99_us"])')
demo=$($bin demo --bytes "$demo_bytes" --json)
# The network servers stay up but idle; the in-memory runs use one core.
inmem=$(cargo bench -q -p synack-bench --bench inmem -- --mib "$inmem_mib" --rounds 3 --json 2>/dev/null | tail -n 1)

python3 - "$synack_bps" "$kernel_bps" "$iperf_bps" "$raw_bps" "$synack_rr" "$kernel_rr" "$demo" \
    "$quinn_bps" "$quinn_rr" "$inmem" <<'PY'
import json, sys
s, k, i, r = (float(x) for x in sys.argv[1:5])
srr = [float(x) for x in sys.argv[5].split()]
krr = [float(x) for x in sys.argv[6].split()]
demo = json.loads(sys.argv[7])
q = float(sys.argv[8])
qrr = [float(x) for x in sys.argv[9].split()]
inmem = json.loads(sys.argv[10])
g = lambda b: f"{b/1e9:.2f} Gbit/s"
print("| measurement | result | synack ÷ it |")
print("| --- | --- | --- |")
print(f"| synack perf, UDP encapsulation, loopback | {g(s)} | 1 |")
if i > 0:
    print(f"| kernel TCP, loopback (iperf3) | {g(i)} | {s/i:.2f} |")
print(f"| kernel TCP, loopback (synack perf --kernel-tcp) | {g(k)} | {s/k:.2f} |")
print(f"| quinn, QUIC over UDP, loopback (rustls with ring) | {g(q)} | {s/q:.2f} |")
print(f"| raw UDP, {1472}-byte datagrams, GSO/GRO | {g(r)} | {s/r:.2f} |")
print(f"| 64-byte request/response, synack (mean / p50 / p99) | {srr[0]:.1f} / {srr[1]:.1f} / {srr[2]:.1f} µs | 1 |")
print(f"| 64-byte request/response, kernel TCP (mean / p50 / p99) | {krr[0]:.1f} / {krr[1]:.1f} / {krr[2]:.1f} µs | latency × {srr[0]/krr[0]:.2f} / {srr[1]/krr[1]:.2f} / {srr[2]/krr[2]:.2f} |")
print(f"| 64-byte request/response, quinn (mean / p50 / p99) | {qrr[0]:.1f} / {qrr[1]:.1f} / {qrr[2]:.1f} µs | latency × {srr[0]/qrr[0]:.2f} / {srr[1]/qrr[1]:.2f} / {srr[2]/qrr[2]:.2f} |")
print(f"| synack demo, {demo['bytes']} bytes ({demo['cc']}, intact: {demo['data_intact']}) | {demo['seconds']:.2f} s, {g(demo['goodput_bps'])}, srtt {demo['srtt_ms']} ms, {demo['retransmitted_segments']} retransmitted | |")
mib = inmem["bytes"] / 2**20
print(f"| in memory, {mib:.0f} MiB, no I/O: synack endpoints (median of {inmem['rounds']}) | {g(inmem['synack_bps_median'])} | 1 |")
print(f"| in memory, the same loop and queues: smoltcp 0.14 interfaces (median of {inmem['rounds']}) | {g(inmem['smoltcp_bps_median'])} | {inmem['ratio']:.2f} |")
PY
