"""The end-to-end suite runs only against a cluster it is given, and only when asked.

Without KUBECONFIG, or when kubectl cannot reach that cluster, every test of
the suite is skipped with the reason (so a plain `pytest` on a laptop or in CI
reports it and passes). The suite installs and changes things in the cluster,
so a reachable cluster is not enough: it runs only under `make e2e`, which
sets TAU_E2E_REQUIRED (a developer whose shell points at the home cluster can
run `make test` safely). Under `make e2e` a missing cluster is a failure:
asking for the suite and getting nothing must not pass.

The tests are steps of one scenario, run in file order; once a step fails, the
later ones are skipped (they would only fail for the same reason).
"""

from __future__ import annotations

import functools
import os

import pytest

from tests.e2e import cluster


@functools.cache
def _unreachable() -> str | None:
    return cluster.unreachable_reason()


@pytest.fixture(scope="session")
def kubectl() -> cluster.Kubectl:
    """The cluster in KUBECONFIG; skips (or, under `make e2e`, fails) when there is none."""
    required = bool(os.environ.get("TAU_E2E_REQUIRED"))
    reason = _unreachable()
    if reason is not None:
        if required:
            pytest.fail(reason)
        pytest.skip(reason)
    if not required:
        pytest.skip(
            f"a cluster is reachable (KUBECONFIG={os.environ.get('KUBECONFIG')}), but the suite installs and changes "
            "things in it: run it with `make e2e`"
        )
    return cluster.Kubectl()


_failed: dict[str, str] = {}


def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> None:
    if call.when == "call" and call.excinfo is not None and not call.excinfo.errisinstance(pytest.skip.Exception):
        _failed.setdefault(item.module.__name__, item.name)


def pytest_runtest_setup(item: pytest.Item) -> None:
    failed = _failed.get(item.module.__name__)
    if failed is not None and item.get_closest_marker("e2e"):
        pytest.skip(f"an earlier step failed ({failed})")
