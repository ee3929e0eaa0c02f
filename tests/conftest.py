"""Shared fixtures: logging off for in-process calls."""

from __future__ import annotations

import pytest
from crossplane.function import logging


@pytest.fixture(autouse=True, scope="session")
def _quiet_logging() -> None:
    logging.configure(level=logging.Level.DISABLED)
