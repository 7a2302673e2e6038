"""What the benchmark scripts share: the synack binary, free loopback ports,
a `synack perf` server-and-client pair, iperf3, and the median-with-range
summary they all print.

Every address is on 127.0.0.1; every run is bounded by a timeout.
"""

import json
import os
import socket
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def target_dir() -> Path:
    """cargo's target directory as cargo sees it (it may be set from outside)."""
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=ROOT, capture_output=True, check=True,
    )
    return Path(json.loads(meta.stdout)["target_directory"])


def build(*cargo_args) -> None:
    """`cargo build --release -q` of the given packages, features and binaries."""
    subprocess.run(["cargo", "build", "--release", "-q", *cargo_args], cwd=ROOT, check=True)


def synack_binary() -> str:
    """The release `synack` binary (SYNACK_BIN overrides)."""
    return os.environ.get("SYNACK_BIN") or str(target_dir() / "release" / "synack")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_json(args, timeout=600):
    """Runs a command and parses its standard output as JSON."""
    out = subprocess.run(args, capture_output=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} exited with {out.returncode}: {out.stderr.decode().strip()}")
    return json.loads(out.stdout)


def bound(port) -> bool:
    """True once a server socket holds `port` on IPv4: a TCP listener, or a
    UDP socket with no peer (a client's socket that happens to use the
    same local port does not count)."""
    for table, server_state in (("/proc/net/tcp", "0A"), ("/proc/net/udp", None)):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                local, remote, state = fields[1], fields[2], fields[3]
                if int(local.split(":")[1], 16) != port:
                    continue
                if state == server_state or (server_state is None and remote == "00000000:0000"):
                    return True
    return False


def wait_bound(port, proc, limit=30.0) -> None:
    """Waits until the server process has bound its port: a loaded machine
    can take longer to start it than any fixed pause."""
    deadline = time.monotonic() + limit
    while not bound(port):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before binding port {port}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"server did not bind port {port} in {limit} s")
        time.sleep(0.02)


class Server:
    """A server process on a fresh loopback port, killed on exit from the
    `with` block: `cmd` is the command with `{addr}` or `{port}` in it."""

    def __init__(self, cmd):
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.cmd = [a.format(addr=self.addr, port=self.port) for a in cmd]

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_bound(self.port, self.proc)
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def perf_once(bin_, flag, extra, client_args):
    """A `synack perf server --once` and one client against it; the client's
    JSON. `extra` goes to both (e.g. `--runtime smol`, `--mtu auto`)."""
    with Server([bin_, "perf", "server", flag, "{addr}", "--once", *extra]) as server:
        v = run_json([bin_, "perf", "client", flag, server.addr, "--json", *extra, *client_args], 300)
        server.proc.wait(timeout=60)
    return v


def iperf3(secs) -> float:
    """Kernel TCP on loopback: one iperf3 stream for `secs` seconds, Gbit/s."""
    with Server(["iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", "{port}"]) as server:
        v = run_json(["iperf3", "-c", "127.0.0.1", "-p", str(server.port), "-t", str(secs), "-J"], 120)
    return v["end"]["sum_received"]["bits_per_second"] / 1e9


def spread(values, unit="", digits=2) -> str:
    """`median (min–max)`, the way every table here reports rounds."""
    med = statistics.median(values)
    unit = f" {unit}" if unit else ""
    return f"{med:.{digits}f}{unit} ({min(values):.{digits}f}–{max(values):.{digits}f})"
