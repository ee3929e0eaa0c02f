"""One flag, two environments: the `shared` checks run against a cluster they are given.

`TAU_TARGET=kubeconfig` points the control-plane tests marked `shared` at the
cluster in KUBECONFIG (`make e2e` runs them there, after the end-to-end
scenario) instead of a control plane of their own. That path is exercised here,
in CI, against this session's control plane, reached as any cluster is: a
kubeconfig and kubectl, from a pytest of its own (inside the plane's loopback
network namespace, the only place its API server listens).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.controlplane import cluster
from tests.support.paths import REPO

pytestmark = pytest.mark.controlplane


def _pytest_against(plane: cluster.ControlPlane, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, cluster.TARGET_ENV: cluster.GIVEN, "KUBECONFIG": str(plane.kubeconfig)}
    argv = plane.ns(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", *args)
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_the_shared_checks_pass_against_a_given_kubeconfig(plane) -> None:
    if isinstance(plane, cluster.GivenCluster):
        pytest.skip("already against a given cluster")
    proc = _pytest_against(plane, "-m", "shared", "tests/controlplane/test_controlplane_pod_security.py")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "3 passed" in out and "skipped" not in out, out[-4000:]


def test_a_given_cluster_runs_only_the_shared_checks(plane) -> None:
    """The others need the plane's insides (processes, logs, identities): skipped, with the reason."""
    if isinstance(plane, cluster.GivenCluster):
        pytest.skip("already against a given cluster")
    proc = _pytest_against(plane, "tests/controlplane/test_controlplane_rbac.py")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "passed" not in out and "only the tests marked `shared` run against a given cluster" in out, out[-4000:]
