"""The dump retention script (function/scripts/retention.sh), run for real over files with faked ages.

Ages are set with `touch -d` as an old file would have them; the script is run exactly as
the Job runs it (`bash retention.sh`, environment only). Needs bash, GNU find and coreutils.
"""

from __future__ import annotations

import os
import pathlib
import subprocess

import pytest

from function import scripts
from tests.support.postgres import SCRIPTS

NS, CLUSTER, DB = "shop", "postgres-shop", "shop"


def _file(path: pathlib.Path, age_days: float, content: bytes = b"encrypted") -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    subprocess.run(["touch", "-h", "-d", f"{age_days * 24 * 60:.0f} minutes ago", str(path)], check=True)
    return path


def _dump(
    folder: pathlib.Path, stamp: str, age_days: float, db: str = DB, content: bytes = b"encrypted"
) -> pathlib.Path:
    return _file(folder / f"{db}-{stamp}.dump.gz.gpg", age_days, content)


def _run(root: pathlib.Path, days: str = "7", **extra: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ["PATH"],
        "DUMP_ROOT": str(root),
        "DUMP_NAMESPACE": NS,
        "DUMP_CLUSTER": CLUSTER,
        "PGDATABASE": DB,
        "RETENTION_DAYS": days,
        **extra,
    }
    return subprocess.run(
        ["bash", str(SCRIPTS / scripts.RETENTION)], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def _files(root: pathlib.Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()}


@pytest.fixture
def root(tmp_path):
    path = tmp_path / "backups"
    path.mkdir()
    return path


def test_deletes_exactly_the_old_dumps_of_this_database_and_keeps_everything_else(root):
    folder = root / NS / CLUSTER
    old = [_dump(folder, "20261101T030000Z", 30), _dump(folder, "20261120T030000Z", 8.5)]
    recent = [_dump(folder, "20261125T030000Z", 6.9), _dump(folder, "20261130T030000Z", 1)]
    foreign = [
        # another database of the same cluster, another cluster, another namespace: never ours
        _dump(folder, "20261101T030000Z", 30, db="shop_archive"),
        _dump(folder, "20261101T030000Z", 30, db="sho"),
        _dump(root / NS / "postgres-other", "20261101T030000Z", 30),
        _dump(root / "other-ns" / CLUSTER, "20261101T030000Z", 30),
        # names that are not exactly ours, however close
        _file(folder / "shop-20261101T030000Z.dump.gz.gpg.bak", 30),
        _file(folder / "shop-20261101T030000Z.dump.gz", 30),
        _file(folder / "shop-latest.dump.gz.gpg", 30),
        _file(folder / "shop-20261101T0300Z.dump.gz.gpg", 30),
        _file(folder / "copy of shop-20261101T030000Z.dump.gz.gpg", 30),
        _file(folder / "README.txt", 30),
        # below the folder: not ours to walk into
        _dump(folder / "keep", "20261101T030000Z", 30),
    ]
    # a link with our name pattern (to a file outside) is not a file we wrote
    link = folder / "shop-20261001T030000Z.dump.gz.gpg"
    link.symlink_to(foreign[2])
    subprocess.run(["touch", "-h", "-d", "40 days ago", str(link)], check=True)
    stale_partial = _file(folder / ".shop-20261101T030000Z.dump.gz.gpg.AbC123", 8)
    fresh_partial = _file(folder / ".shop-20261201T030000Z.dump.gz.gpg.XyZ789", 0.01)

    before = _files(root)
    proc = _run(root)
    assert proc.returncode == 0, proc.stderr
    gone = before - _files(root)
    assert gone == {str(p.relative_to(root)) for p in [*old, stale_partial]}
    for path in [*recent, *foreign, fresh_partial]:
        assert path.exists(), path
    assert link.is_symlink()
    assert "2 deleted, 2 kept, newest shop-20261130T030000Z.dump.gz.gpg" in proc.stderr


def test_never_deletes_the_newest_dump_however_old(root):
    folder = root / NS / CLUSTER
    dumps = [
        _dump(folder, "20260101T030000Z", 90),
        _dump(folder, "20260201T030000Z", 60),
        _dump(folder, "20260301T030000Z", 30),
    ]
    proc = _run(root)
    assert proc.returncode == 0, proc.stderr
    assert [p.exists() for p in dumps] == [False, False, True]
    again = _run(root)  # and it stays: running again deletes nothing more
    assert again.returncode == 0 and dumps[2].exists()


def test_the_newest_good_dump_is_the_newest_non_empty_one(root):
    folder = root / NS / CLUSTER
    good = _dump(folder, "20260201T030000Z", 60)
    empty = _dump(folder, "20260301T030000Z", 30, content=b"")
    older = _dump(folder, "20260101T030000Z", 90)
    proc = _run(root)
    assert proc.returncode == 0, proc.stderr
    assert good.exists()
    assert not empty.exists() and not older.exists()


def test_age_is_the_files_time_not_its_name(root):
    folder = root / NS / CLUSTER
    # Copied back from elsewhere: an old name, a new modification time: kept.
    copied = _dump(folder, "20200101T030000Z", 0.5)
    newest = _dump(folder, "20261130T030000Z", 0.1)
    proc = _run(root, days="1")
    assert proc.returncode == 0, proc.stderr
    assert copied.exists() and newest.exists()


def test_a_missing_folder_is_nothing_to_do(root):
    proc = _run(root)
    assert proc.returncode == 0
    assert "nothing to do" in proc.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RETENTION_DAYS", "0"),
        ("RETENTION_DAYS", "-1"),
        ("RETENTION_DAYS", "7d"),
        ("RETENTION_DAYS", ""),
        ("DUMP_NAMESPACE", ".."),
        ("DUMP_CLUSTER", "../shop"),
        ("PGDATABASE", "*"),
        ("DUMP_ROOT", "/nonexistent"),
    ],
)
def test_refuses_a_bad_configuration_and_deletes_nothing(root, variable, value):
    folder = root / NS / CLUSTER
    _dump(folder, "20260101T030000Z", 90)
    _dump(folder, "20260301T030000Z", 30)
    before = _files(root)
    proc = _run(root, **{variable: value})
    assert proc.returncode == 2
    assert variable in proc.stderr
    assert _files(root) == before
