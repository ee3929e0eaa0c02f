"""The programs the backup Jobs run: dump, retention and restore of encrypted logical dumps.

Each is one self-contained bash script (pg_dump/pg_restore/psql, gzip, gpg and coreutils
only), shipped as package data so the composition can put them in a ConfigMap the Jobs mount.
The environment each one reads is described at the top of the script.
"""

from __future__ import annotations

from importlib import resources

DUMP = "dump.sh"
RETENTION = "retention.sh"
RESTORE = "restore.sh"
ALL = (DUMP, RETENTION, RESTORE)


def text(name: str) -> str:
    """The source of one of the scripts (`DUMP`, `RETENTION` or `RESTORE`)."""
    if name not in ALL:
        raise ValueError(f"no such script: {name!r}")
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
