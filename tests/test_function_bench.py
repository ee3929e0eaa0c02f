"""The benchmark runs (a tiny run, so it cannot rot), and its report keeps the written analysis."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from tests.support.paths import REPO

BENCH = REPO / "bench" / "run.py"


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench_run", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_a_tiny_run_measures_function_tau_against_the_floor():
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--calls", "50", "--rounds", "1", "--warmup", "5", "--soak", "0",
         "--cold-starts", "1", "--no-peer", "--no-write", "--case", "PostgresDatabase"],
        capture_output=True, text=True, timeout=120, check=False, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = proc.stdout
    for row in ("| PostgresDatabase steady | function-tau |", "| PostgresDatabase steady-new | no-op |",
                "| PostgresDatabase first |", "| function-tau | "):  # fmt: skip
        assert row in report
    assert "p99 / floor" in report
    assert "cold start" in report


def test_the_report_replaces_only_its_own_part_of_the_document(tmp_path):
    bench = _bench_module()
    doc = tmp_path / "PERFORMANCE.md"
    doc.write_text(f"# Performance\n\nanalysis before\n\n{bench.BEGIN}\nold figures\n{bench.END}\n\nanalysis after\n")
    bench.write(doc, "new figures\n")
    text = doc.read_text()
    assert "old figures" not in text
    assert text.startswith("# Performance\n\nanalysis before\n")
    assert text.endswith("new figures\n<!-- bench:end -->\n\nanalysis after\n")


def test_differences_name_what_the_peer_composes_differently():
    bench = _bench_module()
    ours = fnv1.RunFunctionResponse()
    ours.desired.resources["a"].resource.update({"kind": "Object", "spec": {"x": 1}})
    ours.desired.composite.resource.update({"status": {"phase": "ok"}})
    peer = fnv1.RunFunctionResponse()
    peer.CopyFrom(ours)
    assert bench.differences(ours.SerializeToString(), peer.SerializeToString(), mask_secrets=False) == []
    peer.desired.resources["a"].resource.update({"spec": {"x": 2}})
    peer.conditions.add(type="Ready")
    assert bench.differences(ours.SerializeToString(), peer.SerializeToString(), mask_secrets=False) == [
        "resource a",
        "conditions",
    ]
