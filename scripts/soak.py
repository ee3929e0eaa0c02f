#!/usr/bin/env python3
"""Load and soak the function the way Crossplane calls it: many clients, the real server, a long time.

    python scripts/soak.py                          # the soak: 16 clients x 2,000 calls each
    python scripts/soak.py --clients 16 --calls 300 --json   # what CI runs (tests/test_function_load.py)

It serves `function-tau serve --insecure` on a free loopback port in a subprocess
and runs `--clients` concurrent clients, each on its own gRPC connection, each
making `--calls` calls in turn. The calls cycle through a mix of requests:
every kind at steady state (what an idle claim sends on every poll), first
reconciles (a password is drawn), a claim half converged, refusals (an invalid
claim, a claim of 300 KB), half of them with a distinct tag so that no
response cache can answer them.

Every answer is checked, not just counted: a steady-state answer must be the
reference answer byte for byte (tag aside), a first reconcile the reference
answer but for its newly drawn password. An error is a gRPC error, a wrong
answer, or a line the server logs at error level.

It reports calls, errors, latency (p50, p90, p99, max), throughput, and the
server's resident memory (RSS) after a warm-up and at the end, with samples in
between: RSS that keeps growing under a steady load is a leak. With
`--max-p99-ms` / `--max-rss-growth-mib`, exceeding them fails the run (exit 1),
as errors always do.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import grpc
from crossplane.function import logging, resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from function import keys, simulate  # noqa: E402 - after the path is set

METHOD = "/" + fnv1.DESCRIPTOR.services_by_name["FunctionRunnerService"].full_name + "/RunFunction"
TAG = "soak"
PASSWORD_KEYS = ("password", "DB_PASSWORD", "PGPASSWORD", "DATABASE_URL")
CERT_MANAGER = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "certificates.cert-manager.io"},
}


# --------------------------------------------------------------------------
# The workload


def _claim(kind: str, spec: dict, name: str = "shop") -> dict:
    return {
        "apiVersion": "tau.home.arpa/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": name},
        "spec": spec,
    }


def _operator(spec: dict) -> dict:
    return {"apiVersion": "tau.home.arpa/v1alpha1", "kind": "CNPGOperator", "metadata": {"name": "cnpg"}, "spec": spec}


def _request(composite: dict, observed: list[dict], required: dict[str, list[dict]]) -> fnv1.RunFunctionRequest:
    req = fnv1.RunFunctionRequest(meta=fnv1.RequestMeta(tag=TAG))
    req.observed.composite.resource.update(composite)
    for doc in observed:
        req.observed.resources[doc["metadata"]["annotations"][simulate.RESOURCE_NAME_ANNOTATION]].resource.update(doc)
    for name, docs in required.items():
        for doc in docs:
            req.required_resources[name].items.add().resource.update(doc)
    return req


def _steady(composite: dict, required: list[dict] = ()) -> list[dict]:
    """What Crossplane observes once the composite converged (every resource ready)."""
    rsp = simulate.converge(composite, required=required)
    return [simulate.as_observed(k, resource.struct_to_dict(v.resource)) for k, v in rsp.desired.resources.items()]


@dataclasses.dataclass(frozen=True)
class Case:
    """One request of the mix, and whether its answer draws a password (so differs in that alone)."""

    name: str
    request: bytes
    draws_password: bool = False
    refused: bool = False  # a fatal result is the right answer


def workload() -> list[Case]:
    """The requests the clients cycle through."""
    postgres = simulate.to_composite(
        _claim("PostgresDatabase", {"extensions": ["pgcrypto"], "backup": {"retentionDays": 3}})
    )
    application = simulate.to_composite(
        _claim("TauApplication", {"image": "nginx:1.27", "port": 8080, "ingress": {"host": "shop.home.arpa"},
                                  "env": [{"name": "MODE", "value": "prod"}], "database": {"enabled": True}})
    )  # fmt: skip
    operator = _operator({"barmanCloudPlugin": {"enabled": True}, "volumeSnapshotClass": {"create": True}})
    cert_manager = {keys.CERT_MANAGER: [CERT_MANAGER]}
    operator_observed = _steady(operator, [CERT_MANAGER])
    half = [
        d
        for d in operator_observed
        if d["metadata"]["annotations"][simulate.RESOURCE_NAME_ANNOTATION] == keys.OPERATOR_RELEASE
    ]
    invalid = simulate.to_composite(
        _claim("PostgresDatabase", {"databaseName": "postgres", "backup": {"schedule": "0 3 * * *"}})
    )
    large = simulate.to_composite(
        _claim(
            "TauApplication", {"image": "nginx", "env": [{"name": f"V{i}", "value": "x" * 3000} for i in range(100)]}
        )
    )
    cases = [
        Case("postgres steady", _request(postgres, _steady(postgres), {})),
        Case("application steady", _request(application, _steady(application), {})),
        Case("operator steady", _request(operator, operator_observed, cert_manager)),
        Case("operator installing the plugin", _request(operator, half, cert_manager)),
        Case("postgres first reconcile", _request(postgres, [], {}), draws_password=True),
        Case("application first reconcile", _request(application, [], {}), draws_password=True),
        Case("invalid claim", _request(invalid, [], {}), refused=True),
        Case("claim of 300 KB", _request(large, [], {}), refused=True),
    ]
    return [dataclasses.replace(c, request=c.request.SerializeToString()) for c in cases]  # type: ignore[attr-defined]


def canonical(blob: bytes, draws_password: bool) -> bytes:
    """An answer as compared: the tag reset, a newly drawn password blanked."""
    rsp = fnv1.RunFunctionResponse.FromString(blob)
    rsp.meta.tag = TAG
    if draws_password and keys.CREDENTIALS in rsp.desired.resources:
        manifest = rsp.desired.resources[keys.CREDENTIALS].resource["spec"]["forProvider"]["manifest"]
        for key in PASSWORD_KEYS:
            manifest["data"][key] = ""
    return rsp.SerializeToString(deterministic=True)


# --------------------------------------------------------------------------
# The server


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served(log: pathlib.Path) -> Iterator[tuple[str, int]]:
    """`function-tau serve --insecure` on loopback; yields (address, pid)."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    command = [
        sys.executable,
        "-c",
        "from function.main import cli; cli()",
        "serve",
        "--insecure",
        "--address",
        address,
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)  # noqa: S603 - our own CLI
        try:
            deadline = time.monotonic() + 30
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"function-tau serve exited with {proc.returncode}: {log.read_text()[-2000:]}")
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("function-tau serve did not listen within 30s")
                time.sleep(0.05)
            yield address, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def rss_mib(pid: int) -> float:
    """The resident set size of a process, in MiB (Linux /proc)."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


# --------------------------------------------------------------------------
# The clients


@dataclasses.dataclass
class Tally:
    """What the clients saw."""

    latencies: list[float] = dataclasses.field(default_factory=list)
    errors: dict[str, int] = dataclasses.field(default_factory=dict)
    first_error: str | None = None

    def error(self, what: str, detail: str) -> None:
        """Count an error (and keep the first one's detail)."""
        self.errors[what] = self.errors.get(what, 0) + 1
        if self.first_error is None:
            self.first_error = f"{what}: {detail}"[:2000]


async def client(index: int, address: str, cases: list[Case], references: list[bytes], calls: int, tally: Tally,
                 done: list[int]) -> None:  # fmt: skip
    """One client: its own connection, `calls` calls in turn through the mix."""
    options = [("grpc.use_local_subchannel_pool", 1)]  # a connection of its own, as separate Crossplane pods would
    async with grpc.aio.insecure_channel(address, options=options) as channel:
        call = channel.unary_unary(METHOD)
        for n in range(calls):
            case_index = (index + n) % len(cases)
            case = cases[case_index]
            request = case.request
            if n % 2:  # a tag of its own: what no response cache can answer
                req = fnv1.RunFunctionRequest.FromString(request)
                req.meta.tag = f"{TAG}-{index}-{n}"
                request = req.SerializeToString()
            start = time.perf_counter()
            try:
                answer = await call(request, timeout=30)
            except grpc.aio.AioRpcError as exc:
                tally.error(f"gRPC {exc.code().name} ({case.name})", exc.details() or "")
                continue
            finally:
                tally.latencies.append(time.perf_counter() - start)
                done[0] += 1
            if canonical(answer, case.draws_password) != references[case_index]:
                tally.error(f"wrong answer ({case.name})", str(fnv1.RunFunctionResponse.FromString(answer)))


async def drive(address: str, cases: list[Case], references: list[bytes], clients: int, calls: int,
                tally: Tally, done: list[int]) -> None:  # fmt: skip
    """Every client at once."""
    await asyncio.gather(*(client(i, address, cases, references, calls, tally, done) for i in range(clients)))


async def reference_answers(address: str, cases: list[Case]) -> list[bytes]:
    """One answer to each case, canonical: what every later answer must equal (checked: composed or refused)."""
    answers = []
    async with grpc.aio.insecure_channel(address) as channel:
        call = channel.unary_unary(METHOD)
        for case in cases:
            answer = await call(case.request, timeout=30)
            results = fnv1.RunFunctionResponse.FromString(answer).results
            if any(r.severity == fnv1.SEVERITY_FATAL for r in results) != case.refused:
                raise RuntimeError(f"{case.name}: unexpected answer {[r.message for r in results]}")
            answers.append(canonical(answer, case.draws_password))
    return answers


def _is_error(line: str) -> bool:
    """Whether a line of the server's log reports an error (JSON at info level; a traceback from anywhere)."""
    return '"level":"error"' in line.replace(" ", "") or "Traceback" in line or "composition failed" in line


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def run(clients: int, calls: int, warmup: int, samples: int = 10) -> dict:
    """Warm up, then load the server; returns the figures."""
    cases = workload()
    with tempfile.TemporaryDirectory() as tmp:
        log = pathlib.Path(tmp) / "server.log"
        with served(log) as (address, pid):
            references = asyncio.run(reference_answers(address, cases))
            rss_start = rss_mib(pid)
            warm = Tally()
            asyncio.run(drive(address, cases, references, clients, max(1, warmup // clients), warm, [0]))
            rss_before = rss_mib(pid)
            tally, done, series = Tally(), [0], []

            async def sample() -> None:
                total = clients * calls
                step = max(1, total // samples)
                mark = step
                while done[0] < total:
                    await asyncio.sleep(0.05)
                    if done[0] >= mark:
                        series.append((done[0], round(rss_mib(pid), 1)))
                        mark += step

            async def main() -> None:
                sampler = asyncio.create_task(sample())
                await drive(address, cases, references, clients, calls, tally, done)
                sampler.cancel()

            started = time.perf_counter()
            asyncio.run(main())
            elapsed = time.perf_counter() - started
            rss_after = rss_mib(pid)
        logged = [line for line in log.read_text(errors="replace").splitlines() if _is_error(line)]
    for line in logged:
        tally.error("server logged an error", line)
    for what, count in warm.errors.items():
        tally.errors[f"during warm-up: {what}"] = count
    ms = [x * 1000 for x in tally.latencies]
    return {
        "clients": clients,
        "calls_per_client": calls,
        "calls": len(tally.latencies),
        "errors": sum(tally.errors.values()),
        "error_kinds": tally.errors,
        "first_error": tally.first_error,
        "mix": [c.name for c in cases],
        "seconds": round(elapsed, 2),
        "calls_per_second": round(len(ms) / elapsed, 1),
        "latency_ms": {
            "p50": round(percentile(ms, 0.50), 2),
            "p90": round(percentile(ms, 0.90), 2),
            "p99": round(percentile(ms, 0.99), 2),
            "max": round(max(ms), 2),
            "mean": round(statistics.fmean(ms), 2),
        },
        "rss_mib": {
            "at_start": round(rss_start, 1),
            "after_warmup": round(rss_before, 1),
            "at_end": round(rss_after, 1),
            "growth": round(rss_after - rss_before, 1),
            "samples": series,  # (calls done, RSS MiB)
        },
        "warmup_calls": len(warm.latencies),
        "cpus": os.cpu_count(),
    }


def report(figures: dict) -> str:
    """The figures for a human."""
    lat, rss = figures["latency_ms"], figures["rss_mib"]
    errors = f"errors: {figures['errors']}"
    if figures["errors"]:
        errors += f" {figures['error_kinds']}; first: {figures['first_error']}"
    lines = [
        f"{figures['clients']} clients x {figures['calls_per_client']} calls = {figures['calls']} calls "
        f"in {figures['seconds']} s ({figures['calls_per_second']} calls/s, {figures['cpus']} CPUs)",
        errors,
        f"latency ms: p50 {lat['p50']}  p90 {lat['p90']}  p99 {lat['p99']}  max {lat['max']}  mean {lat['mean']}",
        f"server RSS MiB: start {rss['at_start']}, after {figures['warmup_calls']} warm-up calls "
        f"{rss['after_warmup']}, end {rss['at_end']} (growth {rss['growth']})",
        "RSS during the run (calls done: MiB): " + ", ".join(f"{n}: {m}" for n, m in rss["samples"]),
        "mix: " + "; ".join(figures["mix"]),
    ]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients, each on its own connection")
    parser.add_argument("--calls", type=int, default=2000, help="calls per client")
    parser.add_argument("--warmup", type=int, default=800, help="calls in all before RSS is first measured")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--max-p99-ms", type=float, help="fail when the 99th percentile latency is above this")
    parser.add_argument("--max-rss-growth-mib", type=float, help="fail when RSS grows more than this after warm-up")
    args = parser.parse_args(argv)
    logging.configure(level=logging.Level.DISABLED)  # the workload is built in-process; its logs are noise
    figures = run(args.clients, args.calls, args.warmup)
    print(json.dumps(figures, indent=2) if args.json else report(figures))
    failed = figures["errors"] > 0
    if args.max_p99_ms is not None and figures["latency_ms"]["p99"] > args.max_p99_ms:
        print(f"p99 {figures['latency_ms']['p99']} ms is above {args.max_p99_ms} ms", file=sys.stderr)
        failed = True
    if args.max_rss_growth_mib is not None and figures["rss_mib"]["growth"] > args.max_rss_growth_mib:
        print(f"RSS grew {figures['rss_mib']['growth']} MiB, more than {args.max_rss_growth_mib}", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
