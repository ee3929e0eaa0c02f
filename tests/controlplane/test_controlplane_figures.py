"""Figures for docs/PERFORMANCE.md, measured on the real control plane with its real poll and watch settings.

- kubectl apply of a claim -> every composed Object Synced (before CNPG is ready: the first stage);
- the stand-in's report that CNPG is ready (the Cluster, then the Database) -> the claim Ready;
- RunFunction calls for the claim until steady (Ready, and no call for QUIET seconds).

Runs first in the session (conftest orders it), while no other claim exists, so
that every RunFunction call the function logs is this claim's. The figures are
printed and written to .tools/controlplane/figures.json.
"""

from __future__ import annotations

import json
import pathlib
import tempfile
import time

import pytest
import yaml

from tests.controlplane import claims, cluster

pytestmark = pytest.mark.controlplane

QUIET = 20
CLAIM = {
    "apiVersion": "tau.home.arpa/v1alpha1",
    "kind": "PostgresDatabase",
    "metadata": {"name": "figures", "namespace": "figures"},
    "spec": {"extensions": ["pgcrypto"], "instance": {"storage": {"size": "1Gi"}}},
}


def _claim_file() -> pathlib.Path:
    path = pathlib.Path(tempfile.mkstemp(suffix=".yaml", prefix="claim-")[1])
    path.write_text(yaml.safe_dump(CLAIM))
    return path


def test_figures(plane, standin) -> None:
    claims.ensure_namespace(plane, "figures")
    calls_before = plane.run_function_calls()
    applied = claims.apply_claim(plane, CLAIM)

    def all_synced() -> list[dict] | None:
        objects = claims.composed_objects(plane, CLAIM)
        return objects if objects and all(claims.is_true(o, "Synced") for o in objects) else None

    first = plane.wait("the first Objects Synced", all_synced, timeout=120, interval=0.2)
    synced_s = time.monotonic() - applied
    calls_synced = plane.run_function_calls() - calls_before

    # The stand-in reports the Cluster healthy, then (once composed) the Database applied.
    steady = len(claims.rendered_objects(claims.render(str(_claim_file()))))
    reported: dict[str, float] = {}
    all_synced_at = None
    done: set = set()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        objects = claims.composed_objects(plane, CLAIM)
        if all_synced_at is None and len(objects) == steady and all(claims.is_true(o, "Synced") for o in objects):
            all_synced_at = time.monotonic()
        count = len(standin.reports)
        claims.report_ready(plane, standin, objects, done)
        for kind, _ns, _name, at in standin.reports[count:]:
            reported.setdefault(kind, at)
        if claims.is_true(claims.get_claim(plane, CLAIM), "Ready"):
            break
        time.sleep(0.2)
    ready_at = time.monotonic()
    assert claims.is_true(claims.get_claim(plane, CLAIM), "Ready")

    last = plane.run_function_calls()
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < QUIET and time.monotonic() < deadline:
        time.sleep(1)
        now = plane.run_function_calls()
        if now != last:
            last, quiet_since = now, time.monotonic()
    breaker = (plane.workdir / "logs" / "crossplane.log").read_text(errors="replace").count("Circuit breaker is open")
    figures = {
        "objects_first_stage": len(first),
        "apply_to_first_stage_synced_s": round(synced_s, 1),
        "apply_to_all_objects_synced_s": round(all_synced_at - applied, 1) if all_synced_at else None,
        "cluster_report_to_ready_s": round(ready_at - reported["Cluster"], 1),
        "database_report_to_ready_s": round(ready_at - reported["Database"], 1) if "Database" in reported else None,
        "apply_to_ready_s": round(ready_at - applied, 1),
        "run_function_calls_until_all_synced": calls_synced,
        "run_function_calls_until_steady": last - calls_before,
        "objects_at_steady_state": len(claims.composed_objects(plane, CLAIM)),
        "crossplane_circuit_breaker_open_logs": breaker,
        "versions": cluster.versions().splitlines(),
    }
    print(json.dumps(figures, indent=1))
    (cluster.BIN / "figures.json").write_text(json.dumps(figures, indent=1) + "\n")
    assert figures["run_function_calls_until_steady"] > 0
