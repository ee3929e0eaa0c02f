"""Shared fixtures: logging off for in-process calls."""

from __future__ import annotations

import pytest
from crossplane.function import logging

from tests.support import crossplane


@pytest.fixture(autouse=True, scope="session")
def _quiet_logging() -> None:
    logging.configure(level=logging.Level.DISABLED)


@pytest.fixture(scope="session")
def function_address() -> str:
    """The function served for real (`function-tau serve --insecure`) on a free loopback port."""
    with crossplane.served() as address:
        yield address
