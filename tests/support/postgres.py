"""A throwaway PostgreSQL server and GnuPG keys for the tests of the dump scripts.

The server is pytest-postgresql's `PostgreSQLExecutor` (initdb, `pg_ctl start -w`, `pg_ctl
stop`), with its data directory in a fresh temporary folder. PostgreSQL refuses to run as
root ("pg_ctl: cannot be run as root"), and CI runs as root; pytest-postgresql has no option
for another user (dbfixtures/pytest-postgresql#341, #455). So when we are root the executor
is given, as its `pg_ctl`, a two-line wrapper that runs the real pg_ctl as the `postgres`
system user (created by Debian's postgresql-common) with `runuser`, and the data folder is
owned by that user; everything else (the server's life cycle, waiting for it, stopping it)
is the library's. As any other user pg_ctl runs directly.

Authentication is what CNPG does: the superuser connects without a password over the local
socket and loopback (for the fixtures), every other role needs its SCRAM password, so the
scripts are proven to take theirs from PGPASSWORD.

Without the PostgreSQL server binaries or gpg the tests skip with the reason, unless CI is
set: then they fail (`.ci/run` installs them).
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import pathlib
import pwd
import shutil
import subprocess
import tempfile

import psycopg
import pytest
from port_for import get_port
from pytest_postgresql.executors import PostgreSQLExecutor

from tests.support.paths import REPO

SCRIPTS = REPO / "function" / "scripts"
HOST = "127.0.0.1"
# What the docs tell users to run to make the key pair: Curve25519 (ed25519 to certify,
# cv25519 to encrypt), no expiry. `future-default` is that pair in GnuPG 2.2 and later.
KEYGEN = ["--quick-gen-key", "function-tau backups", "future-default", "default", "never"]


def require(what: str, *, found: bool) -> None:
    """Skip (or, with CI set, fail) when a tool the tests need is missing."""
    if found:
        return
    message = f"{what} is not installed (apt-get install postgresql postgresql-contrib gnupg)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must have it (.ci/run installs it)")
    pytest.skip(message)


def pg_bindir() -> pathlib.Path | None:
    """The newest PostgreSQL server's binaries: Debian's /usr/lib/postgresql/N/bin, or PATH."""
    found = sorted(
        (pathlib.Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")),
        key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1]
    pg_ctl = shutil.which("pg_ctl")
    return pathlib.Path(pg_ctl).resolve().parent if pg_ctl else None


@dataclasses.dataclass(frozen=True)
class Server:
    """A running server: where it is, and how to run SQL and the scripts against it."""

    host: str
    port: int
    bindir: pathlib.Path
    superuser: str

    def sql(
        self, query: str | psycopg.sql.Composable, dbname: str = "postgres", *, autocommit: bool = True
    ) -> list[tuple]:
        """Run one statement as the superuser; the rows it returns, if any."""
        with psycopg.connect(
            host=self.host, port=self.port, user=self.superuser, dbname=dbname, autocommit=autocommit
        ) as conn:
            cur = conn.execute(query)
            return cur.fetchall() if cur.description else []

    def env(self, user: str, password: str, dbname: str, **extra: str) -> dict[str, str]:
        """The environment of a script run: this server's client binaries first on PATH, libpq variables."""
        return {
            "PATH": f"{self.bindir}:{os.environ['PATH']}",
            "LANG": "C.UTF-8",
            "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": user,
            "PGPASSWORD": password,
            "PGDATABASE": dbname,
            **extra,
        }


PG_HBA = """\
# function-tau tests: the superuser without a password (fixtures), everyone else with SCRAM.
local all all trust
host all {superuser} 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
"""


@contextlib.contextmanager
def server() -> contextlib.AbstractContextManager[Server]:
    """Start a throwaway PostgreSQL server for the session; stop and delete it afterwards."""
    bindir = pg_bindir()
    require("the PostgreSQL server (pg_ctl)", found=bindir is not None and (bindir / "postgres").exists())

    base = pathlib.Path(tempfile.mkdtemp(prefix="tau-pg-"))
    pg_ctl = bindir / "pg_ctl"
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root, PostgreSQL needs the 'postgres' system user (Debian's postgresql-common)")
        require("runuser (util-linux)", found=shutil.which("runuser") is not None)
        os.chown(base, account.pw_uid, account.pw_gid)
        wrapper = base / "pg_ctl"
        wrapper.write_text(f'#!/bin/sh\ncd / && exec runuser -u postgres -- "{pg_ctl}" "$@"\n')
        wrapper.chmod(0o755)
        pg_ctl = wrapper
    executor = PostgreSQLExecutor(
        executable=str(pg_ctl),
        host=HOST,
        port=get_port(None),
        datadir=str(base / "data"),
        unixsocketdir=str(base),
        logfile=str(base / "postgresql.log"),
        startparams="-w",
        dbname="tests",
        user="postgres",
        password=None,
    )
    try:
        executor.start()
        executor.wait_for_postgres()
        (base / "data" / "pg_hba.conf").write_text(PG_HBA.format(superuser=executor.user))
        pg = Server(host=HOST, port=executor.port, bindir=bindir, superuser=executor.user)
        pg.sql("SELECT pg_reload_conf()")
        yield pg
    finally:
        with contextlib.suppress(Exception):
            executor.stop()
        shutil.rmtree(base, ignore_errors=True)


@dataclasses.dataclass(frozen=True)
class KeyPair:
    """An OpenPGP key pair as the user would make it: the public key file, the private key file."""

    fingerprint: str
    public: pathlib.Path
    private: pathlib.Path


# Every GnuPG home `gpg` has run in: gpg starts a gpg-agent (and may start dirmngr or
# keyboxd) for its home that outlives it, so `stop_agents` stops them all at teardown.
HOMES: set[pathlib.Path] = set()
# The daemons gpg starts per home; gpgconf --kill ignores those it does not know (keyboxd
# is GnuPG 2.3 and later) or that are not running.
DAEMONS = ("gpg-agent", "dirmngr", "keyboxd")


def gpg(home: pathlib.Path, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run gpg in batch mode with its own home (remembered in `HOMES` for `stop_agents`)."""
    HOMES.add(pathlib.Path(home))
    env = {**os.environ, "GNUPGHOME": str(home)}
    return subprocess.run(
        ["gpg", "--batch", "--no-tty", *args], env=env, capture_output=True, check=check, timeout=120, **kwargs
    )


def make_key_pair(home: pathlib.Path, out: pathlib.Path) -> KeyPair:
    """Generate a key pair in `home` with the documented command; export both halves to `out`."""
    require("GnuPG (gpg)", found=shutil.which("gpg") is not None)
    home.mkdir(mode=0o700, parents=True)
    out.mkdir(parents=True, exist_ok=True)
    gpg(home, "--passphrase", "", *KEYGEN)
    colons = gpg(home, "--list-keys", "--with-colons", text=True).stdout
    fingerprint = next(line.split(":")[9] for line in colons.splitlines() if line.startswith("fpr:"))
    public = out / "backup-key.pub.asc"
    private = out / "backup-key.private.asc"
    public.write_bytes(gpg(home, "--armor", "--export", fingerprint).stdout)
    private.write_bytes(
        gpg(
            home, "--pinentry-mode", "loopback", "--passphrase", "", "--armor", "--export-secret-keys", fingerprint
        ).stdout
    )
    return KeyPair(fingerprint=fingerprint, public=public, private=private)


def stop_agent(home: pathlib.Path) -> None:
    """Stop the gpg-agent (and dirmngr, keyboxd) running for `home`; nothing if gpgconf is missing."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            ["gpgconf", "--homedir", str(home), "--kill", *DAEMONS], capture_output=True, check=False, timeout=30
        )
    HOMES.discard(pathlib.Path(home))


def stop_agents() -> None:
    """Stop the daemons of every home `gpg` has run in (see `HOMES`)."""
    for home in sorted(HOMES):
        stop_agent(home)
