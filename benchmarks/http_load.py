"""The HTTP API under open-loop load: a real `edi278 serve`, a load generator in another process.

    .venv/bin/python benchmarks/http_load.py                        # 200 req/s for 30 s, recorded
    .venv/bin/python benchmarks/http_load.py --rate 50 --duration 5 --no-record

Sets up a fresh state folder under var/bench/ (removed after a run that worked, kept
with the server's log when one failed): reference data loaded, an API key for
SUBMITTER01. Starts `edi278 serve` on a free loopback port as it runs by default (one
uvicorn process, SQLite, INFO logs to a file, its default --max-inflight), and runs the
load generator as a process of its own (this file with --client): asyncio on raw
sockets, HTTP/1.1 keep-alive (an idle connection reused for 4 s at most: uvicorn closes
them after 5), a new connection whenever none is idle. It is open loop: request i is
sent at start + i/rate whatever the earlier ones are doing, and its latency is counted
from that scheduled time, so a server that falls behind cannot slow the offered rate
down or hide its queue (past 512 connections in flight a request waits for one, its
clock running). Each request is one valid 278 request in its own interchange (its own
ISA13, BHT03, TRN02), POSTed to /v1/x12/278; an error is any answer but 200 (503: the
server turned it away), a broken connection, or no answer within 30 s. Twenty requests
are sent one by one first, as a warm-up, and not counted; their median is the unloaded
latency. On a 2-core machine the server and the generator share the CPU (and with
anything else running): the CPU seconds each used in the window are reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import measure
import workloads

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EDI278 = Path(sys.executable).parent / "edi278"
WARM_UP = 20
TIMEOUT = 30.0
MAX_CONNECTIONS = 512  # file descriptors are finite: more requests in flight wait their turn
KEEP_ALIVE = 4.0  # seconds an idle connection is reused; uvicorn closes them after 5


# --- the load generator (its own process) -------------------------------------------------


class Connections:
    """Keep-alive connections to one server: an idle one is reused, else a new one."""

    def __init__(self, host: str, port: int, most: int = MAX_CONNECTIONS) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.opened = 0
        self.slots = asyncio.Semaphore(most)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        async with self.slots:  # beyond `most` in flight, a request waits (its clock runs)
            return await self._post(path, body, headers)

    async def _post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        now = time.monotonic()
        while self.idle and (now - self.idle[-1][2] > KEEP_ALIVE or self.idle[-1][0].at_eof()):
            self.idle.pop()[1].close()  # the server may have closed it: never reuse a stale one
        if self.idle:
            reader, writer, _ = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port)
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.opened += 1
        head = [
            f"POST {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        try:
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            status, answer, keep = await _response(reader)
        except BaseException:
            writer.close()
            raise
        if keep:
            self.idle.append((reader, writer, time.monotonic()))
        else:
            writer.close()
        return status, answer

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    fields = dict(line.split(":", 1) for line in head[1:] if ":" in line)
    fields = {name.strip().lower(): value.strip() for name, value in fields.items()}
    if "content-length" in fields:
        body = await reader.readexactly(int(fields["content-length"]))
    elif fields.get("transfer-encoding", "").lower() == "chunked":
        pieces = []
        while size := int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16):
            pieces.append(await reader.readexactly(size))
            await reader.readexactly(2)
        await reader.readuntil(b"\r\n")
        body = b"".join(pieces)
    else:
        body = await reader.read()
        return status, body, False
    return status, body, fields.get("connection", "").lower() != "close"


def _quantile(values: list[float], q: float) -> float:
    """The nearest-rank quantile (p99 of 6,000 is the 5,940th smallest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def load(args: argparse.Namespace) -> dict:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    total = args.rate * args.duration
    bodies = workloads.single_requests(WARM_UP + total, args.first, args.first * 1000)
    headers = {"Content-Type": "application/edi-x12", "X-API-Key": args.key}
    pool = Connections("127.0.0.1", args.port)
    loop = asyncio.get_running_loop()
    alone: list[float] = []  # the warm-up's latencies, one request at a time
    for body in bodies[:WARM_UP]:  # one by one: maps loaded, connections made
        sent = loop.time()
        status, _ = await pool.post("/v1/x12/278", body, headers)
        alone.append(loop.time() - sent)
        if status != 200:
            raise SystemExit(f"warm-up request answered {status}")
    latencies: list[float] = []
    answered: list[float] = []  # the latencies of the 200s alone
    statuses: dict[str, int] = {}
    decided = 0
    lags: list[float] = []

    async def one(scheduled: float, body: bytes) -> None:
        nonlocal decided
        lags.append(loop.time() - scheduled)
        try:
            status, answer = await asyncio.wait_for(
                pool.post("/v1/x12/278", body, headers), TIMEOUT
            )
            key = str(status)
            decided += status == 200 and (b"HCR" in answer or b"AAA" in answer)
        except TimeoutError:
            key = "timeout"
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            key = type(error).__name__
        statuses[key] = statuses.get(key, 0) + 1
        latencies.append(loop.time() - scheduled)
        if key == "200":
            answered.append(latencies[-1])

    server_cpu = measure.tree_cpu_seconds(args.server_pid) if args.server_pid else None
    own = resource.getrusage(resource.RUSAGE_SELF)
    start = loop.time() + 0.05
    tasks = []
    for i, body in enumerate(bodies[WARM_UP:]):
        scheduled = start + i / args.rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled, body)))
    sent_in = loop.time() - start
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    used = resource.getrusage(resource.RUSAGE_SELF)
    server_after = measure.tree_cpu_seconds(args.server_pid) if args.server_pid else None
    pool.close()
    ok = statuses.get("200", 0)
    return {
        "rate": args.rate,
        "duration": args.duration,
        "sent": total,
        "ok": ok,
        "errors": total - ok,
        "statuses": statuses,
        "decided": decided,
        "achieved_rate": total / sent_in if sent_in else 0.0,
        "all_answered_s": elapsed,
        "p50_ms": _quantile(latencies, 0.50) * 1000,
        "p95_ms": _quantile(latencies, 0.95) * 1000,
        "p99_ms": _quantile(latencies, 0.99) * 1000,
        "max_ms": max(latencies) * 1000,
        "ok_p50_ms": _quantile(answered, 0.50) * 1000,
        "ok_p95_ms": _quantile(answered, 0.95) * 1000,
        "ok_p99_ms": _quantile(answered, 0.99) * 1000,
        "ok_max_ms": max(answered, default=float("nan")) * 1000,
        "max_lag_ms": max(lags) * 1000,
        "alone_p50_ms": _quantile(alone[WARM_UP // 2 :], 0.50) * 1000,
        "connections": pool.opened,
        "client_cpu": (used.ru_utime + used.ru_stime) - (own.ru_utime + own.ru_stime),
        "server_cpu_window": (
            server_after - server_cpu if server_cpu is not None and server_after else None
        ),
    }


# --- the orchestration ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _edi278(*args: str) -> str:
    done = subprocess.run([str(EDI278), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"edi278 {args[0]} {args[1]} failed: {done.stderr[-2000:]}")
    return done.stdout.strip()


def run(rate: int, duration: int, workers: int = 1) -> dict:
    """Start a server on a fresh state folder, load it from another process, stop it."""
    state = workloads.BENCH_DIR / f"http-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    state.mkdir(parents=True)
    where = ["--state-dir", str(state)]
    _edi278("reference", "load", str(ROOT / "samples" / "reference"), *where)
    key = _edi278("partner", "add", "--isa-id", "SUBMITTER01", "--name", "bench", *where)
    port = _free_port()
    log = open(state / "serve.log", "w")  # noqa: SIM115 - open for the server's lifetime
    server = subprocess.Popen(
        [str(EDI278), "serve", "--port", str(port), "--workers", str(workers), *where],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    try:
        _wait_until_up(server, port)
        load_before = measure.loadavg()
        client = subprocess.run(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--client",
                "--port",
                str(port),
                "--key",
                key,
                "--rate",
                str(rate),
                "--duration",
                str(duration),
                "--first",
                "1",
                "--server-pid",
                str(server.pid),
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
        if client.returncode != 0:
            raise RuntimeError(f"the load generator failed: {client.stderr[-2000:]}")
        figures = json.loads(client.stdout.splitlines()[-1])
        finished = {
            "client": figures,
            "server_cpu": figures.pop("server_cpu_window") or 0.0,
            "workers": workers,
            "load_before": load_before,
            "load_after": measure.loadavg(),
        }
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    shutil.rmtree(state)  # kept when something failed, for its serve.log
    return finished


def _wait_until_up(server: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"edi278 serve exited {server.returncode} before it was up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if probe.recv(64).startswith(b"HTTP/1.1 "):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("edi278 serve did not come up within 60 s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=200, help="requests per second offered")
    parser.add_argument("--duration", type=int, default=30, help="seconds of load")
    parser.add_argument("--workers", type=int, default=1, help="edi278 serve --workers")
    parser.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        print(json.dumps(asyncio.run(load(args))))
        return 0
    from stream_memory import machine, record
    from suite import http_section, targets

    result = run(args.rate, args.duration, args.workers)
    lines = [
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: HTTP API under load",
        "",
        *(f"- {k}: {v}" for k, v in machine().items()),
        "- Command: `" + " ".join(["python benchmarks/http_load.py", *sys.argv[1:]]) + "`",
        "",
        http_section(result).split("\n", 2)[2],
        *(f"- {line}" for line in targets([], result, None)),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_record:
        record(text)
    return 0 if result["client"]["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
