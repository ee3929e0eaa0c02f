"""RFC 3339 timestamps, as Kubernetes writes them and claims give them."""

from __future__ import annotations

import datetime


def parse(value: object) -> datetime.datetime | None:
    """`value` as a datetime, or None when it is not an ISO 8601 / RFC 3339 timestamp.

    A trailing `Z` (either case) means UTC; a timestamp without a zone is naive.
    """
    if not isinstance(value, str):
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None


def now() -> datetime.datetime:
    """The current time, UTC (one place, so a test can pin it)."""
    return datetime.datetime.now(datetime.UTC)


def show_utc(value: datetime.datetime) -> str:
    """`value` as Kubernetes writes a time: RFC 3339, UTC, whole seconds."""
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
