"""The retention job's script, run for real by a POSIX shell.

No Kubernetes API server runs here, so `kubectl` is a stand-in on PATH that
prints the Backups a test gives it (in the exact tab-separated shape the
script's jsonpath asks for) and records the deletes; `date`, `awk`, `sort` and
the shell are the real ones. The stand-in also checks the script asked for the
right Backups (namespace and label selector).
"""

from __future__ import annotations

import datetime
import os
import pathlib
import subprocess
import textwrap

import pytest

from function.postgres.manifests import PRUNE_SCRIPT

NOW = datetime.datetime.now(datetime.UTC)

KUBECTL = textwrap.dedent(
    """\
    #!/bin/sh
    case "$1" in
      get)
        [ "$4" = "shop" ] || { echo "wrong namespace $4" >&2; exit 2; }
        [ "$6" = "cnpg.io/scheduled-backup=postgres-shop-backup" ] || { echo "wrong selector $6" >&2; exit 2; }
        cat "$BACKUPS" ;;
      delete) echo "$5" >> "$DELETED" ;;
      *) echo "unexpected kubectl $*" >&2; exit 2 ;;
    esac
    """
)


def _ago(days: float) -> str:
    return (NOW - datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _run(tmp_path: pathlib.Path, backups: list[tuple[str, ...]], retention: int = 7) -> list[str]:
    """Run the script on Backups (name, phase, stoppedAt, creationTimestamp[, method: volumeSnapshot])."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(KUBECTL)
    kubectl.chmod(0o755)
    rows = [b if len(b) == 5 else (*b, "volumeSnapshot") for b in backups]
    (tmp_path / "backups.tsv").write_text("".join("\t".join(b) + "\n" for b in rows))
    deleted = tmp_path / "deleted"
    deleted.touch()
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "NAMESPACE": "shop",
        "SCHEDULED_BACKUP": "postgres-shop-backup",
        "RETENTION_DAYS": str(retention),
        "BACKUPS": str(tmp_path / "backups.tsv"),
        "DELETED": str(deleted),
    }
    proc = subprocess.run(
        ["/bin/sh", "-c", PRUNE_SCRIPT], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return deleted.read_text().split()


def test_deletes_completed_and_failed_backups_older_than_the_retention(tmp_path):
    backups = [
        ("b-old", "completed", _ago(10), _ago(10)),
        ("b-older", "completed", _ago(30), _ago(30)),
        ("b-failed", "failed", _ago(8), _ago(8)),
        ("b-recent", "completed", _ago(1), _ago(1)),
        ("b-running", "running", "", _ago(9)),
        ("b-edge", "completed", _ago(6.9), _ago(6.9)),
    ]
    assert sorted(_run(tmp_path, backups)) == ["b-failed", "b-old", "b-older"]


def test_never_deletes_the_newest_completed_backup(tmp_path):
    backups = [
        ("b-1", "completed", _ago(20), _ago(20)),
        ("b-2", "completed", _ago(15), _ago(15)),
        ("b-3", "failed", _ago(9), _ago(9)),
    ]
    assert sorted(_run(tmp_path, backups)) == ["b-1", "b-3"]


def test_falls_back_to_the_creation_time_without_a_stop_time(tmp_path):
    backups = [("b-new", "completed", _ago(1), _ago(1)), ("b-nostop", "failed", "", _ago(12))]
    assert _run(tmp_path, backups) == ["b-nostop"]


@pytest.mark.parametrize("backups", [[], [("b-running", "running", "", _ago(40))]], ids=["none", "only running"])
def test_nothing_to_do(tmp_path, backups):
    assert _run(tmp_path, backups) == []


def test_only_snapshot_backups_are_pruned_and_kept(tmp_path):
    """After a switch to objectStore the ScheduledBackup (same name and label) makes plugin Backups: the object
    store's retention prunes those, so the job leaves them alone and still prunes (and keeps) the snapshots."""
    backups = [
        ("b-snap-old", "completed", _ago(20), _ago(20), "volumeSnapshot"),
        ("b-snap-last", "completed", _ago(10), _ago(10), "volumeSnapshot"),
        ("b-plugin-old", "completed", _ago(9), _ago(9), "plugin"),
        ("b-plugin-new", "completed", _ago(1), _ago(1), "plugin"),
    ]
    assert _run(tmp_path, backups) == ["b-snap-old"]


def test_retention_is_in_days(tmp_path):
    backups = [("b-a", "completed", _ago(2.5), _ago(2.5)), ("b-b", "completed", _ago(0.5), _ago(0.5))]
    assert _run(tmp_path, backups, retention=2) == ["b-a"]
    second = tmp_path / "second"
    second.mkdir()
    assert _run(second, backups, retention=3) == []
