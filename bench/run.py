"""Benchmark function-tau against a no-op floor and a Go peer, over real gRPC.

    make bench                 # the full run; writes docs/PERFORMANCE.md
    make bench-quick           # fewer calls, same shape
    python bench/run.py --calls 50 --no-peer --no-write    # a smoke run (the tests do this)

Three servers run on loopback, each in its own process, each started the way
Crossplane runs it (`serve --insecure`):

  function-tau   `function-tau serve`, this repository;
  no-op          bench/noop_function.py: the same SDK and server, returns the
                 desired state untouched: the floor that gRPC and protobuf set;
  Go peer        bench/peer: a Go function on function-sdk-go that composes the
                 same resources from a Go template, as function-go-templating
                 does (built by `make bench` into .tools/).

Each case (a claim) is measured on the first reconcile (nothing observed yet)
and in steady state (every composed resource observed and ready, the
credentials Secret among them, so no password is drawn). Steady state is
measured twice: with the identical request repeated (what an idle claim sends
on every poll) and with a request that is new on every call (a distinct tag),
which is what a response cache cannot serve.

The client sends pre-serialized bytes and does not parse the answer, so its own
protobuf work does not count against any server; it still shares the machine's
cores with the server. Rounds interleave the servers so that drift (another
process, CPU frequency) hits them alike, and the spread across rounds is
reported with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import pathlib
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from importlib import metadata

import grpc
import yaml
from crossplane.function import logging as sdklogging
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from function import render, simulate  # noqa: E402 - after the path is set

METHOD = "/" + fnv1.DESCRIPTOR.services_by_name["FunctionRunnerService"].full_name + "/RunFunction"
PEER_BINARY = REPO / ".tools" / "function-template-peer"
DOC = REPO / "docs" / "PERFORMANCE.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


# --------------------------------------------------------------------------
# What is measured


@dataclasses.dataclass(frozen=True)
class Case:
    """A claim to compose, the Composition that gives its input, and the peer's template."""

    name: str
    claim: str
    composition: str
    peer_templates: tuple[str, ...]  # concatenated into one inline template; () leaves the peer out


# One line per case. A case whose peer template does not exist is measured
# without the peer.
PEER_DATABASE = "bench/peer/database.yaml.tmpl"
CASES = [
    Case("PostgresDatabase", "examples/postgresdatabase/claim.yaml", "apis/postgresdatabase/composition.yaml",
         (PEER_DATABASE, "bench/peer/postgresdatabase.yaml.tmpl")),
    Case("TauApplication+database", "examples/tauapplication-postgres-example/claim.yaml",
         "apis/tauapplication/composition.yaml", (PEER_DATABASE, "bench/peer/tauapplication.yaml.tmpl")),
]  # fmt: skip

STATES = ("first", "steady", "steady-new")


@dataclasses.dataclass
class Scenario:
    """One case in one state: the request each server is sent, as bytes."""

    case: str
    state: str
    requests: dict[str, bytes]  # server name -> serialized RunFunctionRequest
    expected_resources: int

    @property
    def label(self) -> str:
        """How the scenario is named in the report."""
        return f"{self.case} {self.state}"

    def payload(self, server: str) -> Callable[[int], bytes]:
        """The bytes of call number i: the same every time, or with a new tag ("steady-new")."""
        body = self.requests[server]
        if self.state != "steady-new":
            return lambda _i: body
        # RequestMeta is field 1; a second occurrence of a message field is
        # merged by the parser, so a trailing meta replaces the tag.
        return lambda i: body + _field(1, _field(1, f"bench-{i:012d}".encode()))


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _load(path: str) -> dict:
    return yaml.safe_load((REPO / path).read_text())


def _function_input(case: Case) -> dict:
    """The input Crossplane sends with every call: the Composition's first (only) step's input."""
    return _load(case.composition)["spec"]["pipeline"][0]["input"]


def _peer_input(case: Case) -> dict | None:
    if not case.peer_templates or not all((REPO / t).exists() for t in case.peer_templates):
        return None
    template = "\n".join((REPO / t).read_text() for t in case.peer_templates)
    return {
        "apiVersion": "gotemplating.fn.crossplane.io/v1beta1",
        "kind": "GoTemplate",
        "source": "Inline",
        "inline": {"template": template},
    }


def _request(composite: dict, observed: list[dict], function_input: dict | None) -> fnv1.RunFunctionRequest:
    """A request as Crossplane builds it: observed state, empty desired state and context, the input."""
    req = fnv1.RunFunctionRequest()
    req.observed.composite.resource.update(composite)
    for doc in observed:
        req.observed.resources[doc["metadata"]["annotations"][simulate.RESOURCE_NAME_ANNOTATION]].resource.update(doc)
    req.desired.SetInParent()
    req.context.SetInParent()
    if function_input is not None:
        req.input.update(function_input)
    # Crossplane tags a request with a hash of it.
    req.meta.tag = hashlib.sha256(req.SerializeToString(deterministic=True)).hexdigest()
    return req


def steady_state(composite: dict, function_input: dict) -> tuple[list[dict], fnv1.RunFunctionResponse]:
    """Every composed resource observed and ready, as the project's converge helper reaches it."""
    rsp = simulate.converge(composite, function_input=function_input)
    observed = [
        simulate.as_observed(key, resource.struct_to_dict(item.resource)) for key, item in rsp.desired.resources.items()
    ]
    return observed, rsp


def scenarios(cases: list[Case], with_peer: bool) -> list[Scenario]:
    """The requests of every case and state, checked to compose what they should."""
    out = []
    for case in cases:
        composite = simulate.to_composite(_load(case.claim))
        ours_input = _function_input(case)
        peer_input = _peer_input(case) if with_peer else None
        observed, steady = steady_state(composite, ours_input)
        if any(r.severity == fnv1.SEVERITY_FATAL for r in steady.results):
            raise SystemExit(f"{case.name}: the claim does not compose: {[r.message for r in steady.results]}")
        first = simulate.run(composite, function_input=ours_input)
        for state in STATES:
            seen = [] if state == "first" else observed
            requests = {
                "function-tau": _request(composite, seen, ours_input).SerializeToString(),
                "no-op": _request(composite, seen, ours_input).SerializeToString(),
            }
            if peer_input is not None:
                requests["Go peer"] = _request(composite, seen, peer_input).SerializeToString()
            expected = len((first if state == "first" else steady).desired.resources)
            out.append(Scenario(case.name, state, requests, expected))
    return out


# --------------------------------------------------------------------------
# Servers


@dataclasses.dataclass(frozen=True)
class Server:
    """How to start one of the three functions on an address."""

    name: str
    command: Callable[[str], list[str]]


def _python_bin(name: str) -> str:
    candidate = pathlib.Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else ""


def _served_from(directory: pathlib.Path) -> Callable[[str], list[str]]:
    """`function-tau serve` with the `function` package taken from another checkout."""
    code = f"import sys; sys.path.insert(0, {str(directory)!r}); from function.main import cli; cli()"
    return lambda a: [sys.executable, "-c", code, "serve", "--insecure", "--address", a]


def servers(with_peer: bool, compare_with: list[pathlib.Path]) -> list[Server]:
    """function-tau as its console script runs it, the no-op on the same SDK, the Go peer, older versions."""
    tau = _python_bin("function-tau")
    out = [
        Server(
            "function-tau",
            (lambda a: [tau, "serve", "--insecure", "--address", a])
            if tau
            else (
                lambda a: [
                    sys.executable,
                    "-c",
                    "from function.main import cli; cli()",
                    "serve",
                    "--insecure",
                    "--address",
                    a,
                ]
            ),
        ),
        Server(
            "no-op", lambda a: [sys.executable, str(REPO / "bench" / "noop_function.py"), "--insecure", "--address", a]
        ),
    ]
    out += [Server(f"function-tau ({d.name})", _served_from(d)) for d in compare_with]
    if with_peer:
        out.append(
            Server(
                "Go peer",
                lambda a: [
                    str(PEER_BINARY),
                    "--insecure",
                    f"--address={a}",
                    f"--metrics-address=127.0.0.1:{free_port()}",
                ],
            )
        )
    return out


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid: int) -> int:
    """Resident set size of a process, from /proc/<pid>/status (VmRSS)."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


@dataclasses.dataclass
class Running:
    """A server process and its address."""

    server: Server
    proc: subprocess.Popen
    address: str
    started_ns: int


# util-linux's setpriv makes the kernel send SIGTERM to a server when the
# benchmark dies, however it dies, so no server outlives it; it execs the
# server, so the process (and its PID, whose RSS is read) is the server's.
_SETPRIV = [path, "--pdeathsig", "TERM"] if (path := shutil.which("setpriv")) else []


def start(server: Server) -> Running:
    """Start a server on a free loopback port; its log goes nowhere (the peer logs every call)."""
    address = f"127.0.0.1:{free_port()}"
    t0 = time.perf_counter_ns()
    proc = subprocess.Popen(  # noqa: S603 - our own servers
        [*_SETPRIV, *server.command(address)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return Running(server, proc, address, t0)


def stop(running: Running) -> None:
    """Stop a server we started (SIGTERM, then SIGKILL after 10 s)."""
    running.proc.terminate()
    try:
        running.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        running.proc.kill()
        running.proc.wait()


def wait_until_serving(running: Running, payload: bytes, timeout_s: float = 60) -> int:
    """Nanoseconds from process start to the first successful RunFunction."""
    host, port = running.address.rsplit(":", 1)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if running.proc.poll() is not None:
            raise RuntimeError(f"{running.server.name} exited with {running.proc.returncode}")
        try:
            with socket.create_connection((host, int(port)), timeout=0.5):
                pass
        except OSError:
            time.sleep(0.002)
            continue
        with grpc.insecure_channel(running.address) as channel:
            try:
                channel.unary_unary(METHOD)(payload, timeout=10)
            except grpc.RpcError:
                time.sleep(0.002)
                continue
        return time.perf_counter_ns() - running.started_ns
    raise RuntimeError(f"{running.server.name} did not serve within {timeout_s}s")


@contextlib.contextmanager
def serving(server: Server, payload: bytes) -> Iterator[Running]:
    """A started server, ready for calls."""
    running = start(server)
    try:
        wait_until_serving(running, payload)
        yield running
    finally:
        stop(running)


# --------------------------------------------------------------------------
# Clients


def check(scenario: Scenario, server: str, raw: bytes) -> None:
    """The answer composes what function-tau composes (the no-op's composes nothing)."""
    rsp = fnv1.RunFunctionResponse.FromString(raw)
    fatal = [r.message for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL]
    if fatal:
        raise SystemExit(f"{server} refused {scenario.label}: {fatal[0][:500]}")
    want = 0 if server == "no-op" else scenario.expected_resources
    if len(rsp.desired.resources) != want:
        raise SystemExit(f"{server} composed {len(rsp.desired.resources)} resources for {scenario.label}, not {want}")


def _composed(raw: bytes, mask_secrets: bool) -> dict:
    """What a response composes, comparable across functions: resources, status, conditions."""
    rsp = fnv1.RunFunctionResponse.FromString(raw)
    resources = {}
    for key, item in rsp.desired.resources.items():
        body = render.integral(resource.struct_to_dict(item.resource))
        if mask_secrets:
            render.mask_secrets(body.get("spec", {}).get("forProvider", {}).get("manifest", {}))
        resources[key] = (body, item.ready)
    status = render.integral(resource.struct_to_dict(rsp.desired.composite.resource)).get("status", {})
    conditions = sorted((c.type, c.status, c.reason, c.message) for c in rsp.conditions)
    return {"resources": resources, "status": status, "conditions": conditions}


def differences(ours: bytes, peer: bytes, mask_secrets: bool) -> list[str]:
    """Where the peer's answer differs from function-tau's (empty: they compose the same)."""
    a, b = _composed(ours, mask_secrets), _composed(peer, mask_secrets)
    out = [
        f"resource {k}"
        for k in sorted(set(a["resources"]) | set(b["resources"]))
        if a["resources"].get(k) != b["resources"].get(k)
    ]
    if a["status"] != b["status"]:
        out.append("composite status")
    if a["conditions"] != b["conditions"]:
        out.append("conditions")
    return out


def latencies(address: str, payload: Callable[[int], bytes], calls: int) -> list[int]:
    """Per-call latency in ns, one client, one call at a time."""
    out = []
    with grpc.insecure_channel(address) as channel:
        call = channel.unary_unary(METHOD)
        for i in range(calls):
            body = payload(i)
            t0 = time.perf_counter_ns()
            call(body, timeout=30)
            out.append(time.perf_counter_ns() - t0)
    return out


async def _throughput(address: str, payload: Callable[[int], bytes], clients: int, calls: int) -> float:
    channels = [grpc.aio.insecure_channel(address) for _ in range(clients)]
    counter = iter(range(calls))

    async def client(channel: grpc.aio.Channel) -> None:
        call = channel.unary_unary(METHOD)
        for i in counter:
            await call(payload(i), timeout=60)

    try:
        t0 = time.perf_counter_ns()
        await asyncio.gather(*(client(c) for c in channels))
        return calls / ((time.perf_counter_ns() - t0) / 1e9)
    finally:
        for channel in channels:
            await channel.close()


def throughput(address: str, payload: Callable[[int], bytes], clients: int, calls: int) -> float:
    """Calls per second with `clients` concurrent clients (one channel each) sharing `calls` calls."""
    return asyncio.run(_throughput(address, payload, clients, calls))


def percentile(sorted_ns: list[int], q: float) -> float:
    """The q-th percentile (nearest rank), in microseconds."""
    index = min(len(sorted_ns) - 1, max(0, round(q / 100 * len(sorted_ns)) - 1))
    return sorted_ns[index] / 1000


# --------------------------------------------------------------------------
# The run


@dataclasses.dataclass
class Figures:
    """Everything measured for one server."""

    cold_start_ms: list[float] = dataclasses.field(default_factory=list)
    rss_warm_kib: int = 0
    rss_samples: list[tuple[int, int]] = dataclasses.field(default_factory=list)  # (calls so far, KiB)
    calls: int = 0
    # scenario label -> per round: p50, p99, max (us), 1-client and 8-client calls/s
    rounds: dict[str, list[dict[str, float]]] = dataclasses.field(default_factory=dict)


def measure_cold_start(server: Server, payload: bytes, times: int) -> list[float]:
    """Process start to the first successful RunFunction, `times` times (ms)."""
    out = []
    for _ in range(times):
        running = start(server)
        try:
            out.append(wait_until_serving(running, payload) / 1e6)
        finally:
            stop(running)
    return out


def run(args: argparse.Namespace) -> dict:
    """Measure every server on every scenario; returns the raw figures."""
    sdklogging.configure(level=sdklogging.Level.DISABLED)
    with_peer = not args.no_peer
    if with_peer and not PEER_BINARY.exists():
        raise SystemExit(f"the Go peer is not built at {PEER_BINARY}: run `make bench` (or pass --no-peer)")
    cases = [c for c in CASES if not args.case or c.name in args.case]
    scens = scenarios(cases, with_peer)
    srvs = servers(with_peer, args.compare_with or [])
    for scen in scens:
        for srv in srvs:
            if srv.name.startswith("function-tau ("):
                scen.requests[srv.name] = scen.requests["function-tau"]
    figures = {s.name: Figures() for s in srvs}
    probe = next(s for s in scens if s.state == "steady")

    for srv in srvs:
        log(f"cold start: {srv.name} x{args.cold_starts}")
        figures[srv.name].cold_start_ms = measure_cold_start(srv, probe.requests[srv.name], args.cold_starts)

    with contextlib.ExitStack() as stack:
        running = {s.name: stack.enter_context(serving(s, probe.requests[s.name])) for s in srvs}
        peer_differs: dict[str, list[str]] = {}
        for name, r in running.items():
            for scen in scens:
                if name not in scen.requests:
                    continue
                payload = scen.payload(name)
                answer = r_call(r.address, payload(0))
                check(scen, name, answer)
                if name == "Go peer":
                    ours = r_call(running["function-tau"].address, scen.payload("function-tau")(0))
                    peer_differs[scen.label] = differences(ours, answer, mask_secrets=scen.state == "first")
                latencies(r.address, payload, args.warmup)
                figures[name].calls += args.warmup + 1
            figures[name].rss_warm_kib = rss_kib(r.proc.pid)
            figures[name].rss_samples.append((figures[name].calls, figures[name].rss_warm_kib))
            log(f"warm: {name} {figures[name].rss_warm_kib / 1024:.1f} MiB after {figures[name].calls} calls")

        for rnd in range(args.rounds):
            order = srvs[rnd % len(srvs) :] + srvs[: rnd % len(srvs)]
            for scen in scens:
                for srv in order:
                    if srv.name not in scen.requests:
                        continue
                    address, payload = running[srv.name].address, scen.payload(srv.name)
                    lat = sorted(latencies(address, payload, args.calls))
                    tp_calls = max(50, args.calls // 5)
                    tp1 = throughput(address, payload, 1, tp_calls)
                    tp8 = throughput(address, payload, 8, tp_calls)
                    figures[srv.name].calls += args.calls + 2 * tp_calls
                    figures[srv.name].rounds.setdefault(scen.label, []).append(
                        {
                            "p50": percentile(lat, 50),
                            "p99": percentile(lat, 99),
                            "max": lat[-1] / 1000,
                            "tp1": tp1,
                            "tp8": tp8,
                        }
                    )
                    log(f"round {rnd + 1}/{args.rounds} {scen.label:34} {srv.name:12} "
                        f"p50 {percentile(lat, 50):8.0f} us  p99 {percentile(lat, 99):8.0f} us  "
                        f"{tp1:6.0f}/s  {tp8:6.0f}/s (8)")  # fmt: skip
            for name, r in running.items():
                figures[name].rss_samples.append((figures[name].calls, rss_kib(r.proc.pid)))

        soak(args, scens, running, figures)

    return {
        "machine": machine(),
        "command": " ".join(["python", os.path.relpath(sys.argv[0], REPO), *sys.argv[1:]]),
        "settings": {k: v for k, v in vars(args).items() if k not in {"no_write"}},
        "scenarios": [s.label for s in scens],
        "servers": {name: dataclasses.asdict(f) for name, f in figures.items()},
        "peer_differs": peer_differs,
    }


def r_call(address: str, body: bytes) -> bytes:
    """One call, for checking the answer."""
    with grpc.insecure_channel(address) as channel:
        return channel.unary_unary(METHOD)(body, timeout=30)


def soak(
    args: argparse.Namespace, scens: list[Scenario], running: dict[str, Running], figures: dict[str, Figures]
) -> None:
    """Steady-state calls until each server has answered `--soak` calls; RSS sampled on the way."""
    steady = [s for s in scens if s.state.startswith("steady")]
    for name, r in running.items():
        if name.startswith("function-tau ("):
            continue  # an older version, measured for its latency only
        mine = [s for s in steady if name in s.requests]
        step = max(1000, args.soak // 10)
        while figures[name].calls < args.soak:
            for scen in mine:
                n = min(step // len(mine) + 1, args.soak - figures[name].calls)
                if n <= 0:
                    break
                throughput(r.address, scen.payload(name), 8, n)
                figures[name].calls += n
            figures[name].rss_samples.append((figures[name].calls, rss_kib(r.proc.pid)))
        log(f"soak: {name} {figures[name].rss_samples[-1][1] / 1024:.1f} MiB after {figures[name].calls} calls")


def machine() -> dict:
    """What the figures were measured on."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with contextlib.suppress(OSError):
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    go = shutil.which("go")
    go_version = "none"
    if go:
        go_version = subprocess.run([go, "version"], capture_output=True, text=True, check=False).stdout.strip()  # noqa: S603

    versions = {p: metadata.version(p) for p in ("crossplane-function-sdk-python", "grpcio", "protobuf", "pydantic")}
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "go": go_version,
        "packages": versions,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# --------------------------------------------------------------------------
# The report


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _spread(values: list[float], fmt: str = "{:.0f}") -> str:
    if len(values) < 2:
        return fmt.format(values[0]) if values else "n/a"
    return f"{fmt.format(_median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "n/a"


def report(results: dict) -> str:
    """The figures as Markdown."""
    servers_ = results["servers"]
    m = results["machine"]
    s = results["settings"]
    lines = [
        f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, {m['memory']}, Linux {m['kernel']}, "
        f"Python {m['python']} ({', '.join(f'{k} {v}' for k, v in m['packages'].items())}), {m['go']}.",
        "",
        f"Command: `{results['command']}` — {s['calls']} calls per latency measurement, "
        f"{s['rounds']} round(s), {s['warmup']} warm-up calls per scenario, soak to {s['soak']} calls, "
        f"{s['cold_starts']} cold start(s).",
        "",
        "Latency in µs, one client, one call at a time: the median of the rounds, and in brackets the "
        "lowest and highest round. Throughput in calls/s with 1 and 8 concurrent clients (median of rounds).",
        "",
        "| scenario | server | p50 µs | p99 µs | max µs | calls/s (1) | calls/s (8) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label in results["scenarios"]:
        for name, fig in servers_.items():
            rounds = fig["rounds"].get(label)
            if not rounds:
                continue
            lines.append(
                f"| {label} | {name} | {_spread([r['p50'] for r in rounds])} | {_spread([r['p99'] for r in rounds])} | "
                f"{max(r['max'] for r in rounds):.0f} | {_median([r['tp1'] for r in rounds]):.0f} | "
                f"{_median([r['tp8'] for r in rounds]):.0f} |"
            )
    lines += [
        "",
        "Ratios, function-tau / no-op floor and function-tau / Go peer (medians of rounds; below 1 is faster):",
        "",
        "| scenario | p50 / floor | p99 / floor | p50 / Go peer | p99 / Go peer | calls/s (8) / Go peer |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    ours = servers_["function-tau"]
    for label in results["scenarios"]:

        def med(name: str, key: str, label: str = label) -> float | None:
            rounds = servers_.get(name, {}).get("rounds", {}).get(label)
            return _median([r[key] for r in rounds]) if rounds else None

        if label not in ours["rounds"]:
            continue
        lines.append(
            f"| {label} | {_ratio(med('function-tau', 'p50'), med('no-op', 'p50'))} | "
            f"{_ratio(med('function-tau', 'p99'), med('no-op', 'p99'))} | "
            f"{_ratio(med('function-tau', 'p50'), med('Go peer', 'p50'))} | "
            f"{_ratio(med('function-tau', 'p99'), med('Go peer', 'p99'))} | "
            f"{_ratio(med('function-tau', 'tp8'), med('Go peer', 'tp8'))} |"
        )
    for other in [n for n in servers_ if n.startswith("function-tau (")]:
        lines += [
            "",
            f"function-tau / {other}, the same scenarios in the same run (below 1 is faster):",
            "",
            "| scenario | p50 | p99 | calls/s (1) | calls/s (8) |",
            "| --- | --- | --- | --- | --- |",
        ]
        for label in results["scenarios"]:
            a, b = ours["rounds"].get(label), servers_[other]["rounds"].get(label)
            if not a or not b:
                continue
            cells = [
                _ratio(_median([r[k] for r in a]), _median([r[k] for r in b])) for k in ("p50", "p99", "tp1", "tp8")
            ]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Memory (VmRSS) and cold start (process start to the first successful RunFunction; median, and range):",
        "",
        "| server | RSS after warm-up | RSS after soak | largest RSS sample after warm-up | cold start ms |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, fig in servers_.items():
        samples = fig["rss_samples"]
        last_calls, last = samples[-1]
        lines.append(
            f"| {name} | {fig['rss_warm_kib'] / 1024:.1f} MiB | {last / 1024:.1f} MiB ({last_calls} calls) | "
            f"{max(k for _, k in samples) / 1024:.1f} MiB | {_spread(fig['cold_start_ms'], '{:.0f}')} |"
        )
    if results["peer_differs"]:
        same = [k for k, v in results["peer_differs"].items() if not v]
        lines += [
            "",
            "The Go peer composes the same resources, composite status and conditions as function-tau "
            f"(compared after the warm-up; first-reconcile passwords masked) in: {', '.join(same) or 'none'}.",
        ]
        for label, diff in results["peer_differs"].items():
            if diff:
                lines.append(f"It differs in {label}: {', '.join(diff)}.")
    lines += ["", "RSS samples (calls: MiB):", ""]
    for name, fig in servers_.items():
        lines.append(f"- {name}: " + ", ".join(f"{c}: {k / 1024:.1f}" for c, k in fig["rss_samples"]))
    return "\n".join(lines) + "\n"


def write(doc: pathlib.Path, text: str) -> None:
    """Replace the generated part of docs/PERFORMANCE.md, keeping the written analysis around it."""
    body = f"{BEGIN}\n{text}{END}"
    if doc.exists() and BEGIN in (old := doc.read_text()) and END in old:
        new = old[: old.index(BEGIN)] + body + old[old.index(END) + len(END) :]
    else:
        new = f"# Performance\n\n{body}\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(new)


def log(message: str) -> None:
    """Progress, on stderr."""
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    """Parse the options, run, report."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=5000, help="calls per latency measurement (default 5000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, servers interleaved (default 3)")
    parser.add_argument("--warmup", type=int, default=500, help="warm-up calls per scenario (default 500)")
    parser.add_argument(
        "--soak", type=int, default=100_000, help="calls each server has answered when RSS is read last"
    )
    parser.add_argument("--cold-starts", type=int, default=5, help="cold starts per server (default 5)")
    parser.add_argument("--case", action="append", help="only this case (repeatable)")
    parser.add_argument("--no-peer", action="store_true", help="leave the Go peer out")
    parser.add_argument(
        "--no-write", action="store_true", help=f"print the report instead of writing {DOC.relative_to(REPO)}"
    )
    parser.add_argument("--json", type=pathlib.Path, help="also write the raw figures here")
    parser.add_argument(
        "--compare-with", type=pathlib.Path, action="append", metavar="DIR",
        help="also serve function-tau from another checkout (DIR holds its `function` package), e.g. a "
        "`git worktree` of an older commit: measured in the same run, named after DIR (repeatable)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    # Stop the servers (the `finally` blocks) on SIGTERM as on Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = run(args)
    text = report(results)
    if args.no_write:
        print(text)
    else:
        write(DOC, text)
        log(f"wrote {DOC.relative_to(REPO)}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
