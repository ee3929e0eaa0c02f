"""The local control plane, one per test session (see cluster.py), for the tests marked `controlplane`.

Without the binaries (`make control-plane`, i.e. scripts/build-control-plane.sh)
or without root (network namespaces) the tests skip with the reason; with `CI`
set they fail instead, as the Crossplane CLI tests do.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.controlplane import cluster
from tests.controlplane.kubelet_standin import CNPGStatusStandIn


def unavailable(crossplane: str = "crossplane") -> str | None:
    """Why the control plane cannot start here, or None."""
    missing = cluster.missing_binaries(crossplane)
    if missing:
        return (f"the local control plane is not built ({', '.join(missing)} missing in {cluster.BIN}): "
                "run `make control-plane` (scripts/build-control-plane.sh; needs Go)")  # fmt: skip
    if not cluster.FUNCTION_TAU.exists():
        return f"{cluster.FUNCTION_TAU} is missing: run `make venv`"
    if shutil.which("ip") is None or os.geteuid() != 0:
        return "the local control plane runs in a network namespace: needs root and `ip` (iproute2)"
    return None


def require(crossplane: str = "crossplane") -> None:
    """Skip (fail when CI is set) when the control plane cannot start here."""
    reason = unavailable(crossplane)
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def running(control_plane: cluster.ControlPlane, what: str) -> Iterator[cluster.ControlPlane]:
    """Start `control_plane` for a fixture to yield, and stop it afterwards (TAU_CONTROLPLANE_KEEP keeps its files)."""
    try:
        control_plane.start()
    except cluster.ControlPlaneError as error:
        pytest.fail(f"{what} did not start: {error}")
    try:
        yield control_plane
    finally:
        control_plane.stop(keep=bool(os.environ.get("TAU_CONTROLPLANE_KEEP")))


def _given() -> str | None:
    try:
        return cluster.given_kubeconfig()
    except cluster.ControlPlaneError as error:
        pytest.fail(str(error))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """With TAU_TARGET=kubeconfig only the checks marked `shared` run: the others need the plane's insides."""
    if item.get_closest_marker("controlplane") and not item.get_closest_marker("shared") and _given():
        pytest.skip(f"{cluster.TARGET_ENV}={cluster.GIVEN}: this test needs the local control plane itself "
                    "(its processes, logs or identities); only the tests marked `shared` run against a given cluster")  # fmt: skip


@pytest.fixture(scope="session")
def plane() -> Iterator[cluster.ControlPlane]:
    """The running control plane (Crossplane 2.x), torn down at the end of the session.

    With TAU_TARGET=kubeconfig: the cluster in KUBECONFIG instead (the `shared` tests).
    """
    kubeconfig = _given()
    if kubeconfig:
        given = cluster.GivenCluster(kubeconfig)
        yield given
        given.stop()
        return
    require()
    yield from running(cluster.ControlPlane(), "the local control plane")


class RealStatus:
    """On a given cluster, CNPG's instance manager and the kubelet write the status: nothing to stand in for."""

    reports: tuple = ()

    def cluster_healthy(self, namespace: str, name: str) -> None:
        """Written by CNPG."""

    def database_applied(self, namespace: str, name: str) -> None:
        """Written by CNPG's instance manager."""

    def database_role_applied(self, namespace: str, name: str) -> None:
        """Written by CNPG's instance manager."""

    def backup_completed(self, namespace: str, name: str, status: dict) -> None:
        """Written by CNPG."""

    def deployment_available(self, namespace: str, name: str) -> None:
        """Written by the Deployment controller."""


@pytest.fixture(scope="session")
def standin(plane: cluster.ControlPlane) -> CNPGStatusStandIn | RealStatus:
    """The kubelet / instance manager stand-in (on a given cluster, the real ones)."""
    return RealStatus() if isinstance(plane, cluster.GivenCluster) else CNPGStatusStandIn(plane)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the figures first among the control-plane tests, while no other claim calls the function."""
    positions = [i for i, item in enumerate(items) if "tests/controlplane/" in str(item.path).replace(os.sep, "/")]
    ours = [items[i] for i in positions]
    ours.sort(key=lambda item: 0 if item.path.name == "test_controlplane_figures.py" else 1)
    for position, item in zip(positions, ours, strict=True):
        items[position] = item
