"""Shared fixtures: logging off for in-process calls."""

from __future__ import annotations

import pytest
from crossplane.function import logging

from tests.support import crossplane, upstream
from tests.support.paths import CRDS


def pytest_sessionstart(session: pytest.Session) -> None:
    """Fetch the pinned upstream CRDs into .tools/crds before any test reads them (once; cached)."""
    try:
        upstream.ensure(CRDS)
    except upstream.UpstreamError as error:
        pytest.exit(f"the tests need the upstream CRDs: {error}", returncode=3)


@pytest.fixture(autouse=True, scope="session")
def _quiet_logging() -> None:
    logging.configure(level=logging.Level.DISABLED)


@pytest.fixture(scope="session")
def function_address() -> str:
    """The function served for real (`function-tau serve --insecure`) on a free loopback port."""
    with crossplane.served() as address:
        yield address
