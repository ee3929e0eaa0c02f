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


@pytest.fixture(scope="session")
def plane() -> Iterator[cluster.ControlPlane]:
    """The running control plane (Crossplane 2.x), torn down at the end of the session."""
    require()
    yield from running(cluster.ControlPlane(), "the local control plane")


@pytest.fixture(scope="session")
def standin(plane: cluster.ControlPlane) -> CNPGStatusStandIn:
    """The kubelet / instance manager stand-in."""
    return CNPGStatusStandIn(plane)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the figures first among the control-plane tests, while no other claim calls the function."""
    positions = [i for i, item in enumerate(items) if "tests/controlplane/" in str(item.path).replace(os.sep, "/")]
    ours = [items[i] for i in positions]
    ours.sort(key=lambda item: 0 if item.path.name == "test_controlplane_figures.py" else 1)
    for position, item in zip(positions, ours, strict=True):
        items[position] = item
