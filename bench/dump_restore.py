"""Size and time of an encrypted dump and its restore, with the exact scripts the Jobs run.

    .venv/bin/python bench/dump_restore.py [--rows N]

Starts a throwaway PostgreSQL server (tests/support/postgres.py: as the `postgres` user when
run as root), fills a database of about 100 MB (pg_database_size, default --rows) with rows
shaped like an application's (ids, timestamps, uuids, short text, jsonb, some random bytes),
makes a key pair as the docs say, then times `dump.sh` (pg_dump -Fc -Z0 | gzip | gpg AES256)
and `restore.sh` into a fresh database (which checks the whole file first, then restores in
one transaction), and checks the restored rows. For reference it also times a plain
`pg_dump --format=custom` with its default compression, unencrypted. Prints the figures.
"""

from __future__ import annotations

import argparse
import pathlib
import secrets
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from function import scripts
from tests.support import postgres

PASSWORD = secrets.token_urlsafe(16)  # the throwaway role's
FILL = """
CREATE TABLE events (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL,
  ref uuid NOT NULL DEFAULT gen_random_uuid(),
  kind text NOT NULL,
  payload jsonb NOT NULL,
  blob bytea
);
INSERT INTO events (at, kind, payload, blob)
SELECT '2026-01-01'::timestamptz + i * interval '1 second',
       (ARRAY['order', 'payment', 'refund', 'login', 'logout'])[1 + i % 5],
       jsonb_build_object('user', i % 5000, 'amount', (i % 997) * 1.25, 'note', 'event number ' || i),
       CASE WHEN i % 10 = 0 THEN gen_random_bytes(64) END
FROM generate_series(1, :rows) AS i;
CREATE INDEX events_at ON events (at);
CREATE INDEX events_kind ON events (kind);
"""


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.monotonic()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - our scripts
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=440_000, help="rows in the table (440000: about 100 MB)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tau-bench-") as tmp, postgres.server() as pg:
        base = pathlib.Path(tmp)
        keys = postgres.make_key_pair(base / "gnupg", base / "keys")
        try:
            pg.sql(f"CREATE ROLE app LOGIN PASSWORD '{PASSWORD}'")
            pg.sql("CREATE DATABASE app OWNER app")
            pg.sql("CREATE DATABASE app_restored OWNER app")
            pg.sql("CREATE EXTENSION pgcrypto", "app")
            start = time.monotonic()
            pg.sql(f"SET ROLE app; {FILL.replace(':rows', str(args.rows))}", "app")
            pg.sql("VACUUM ANALYZE", "app")
            fill = time.monotonic() - start
            db_size = pg.sql("SELECT pg_database_size('app')", "app")[0][0]
            table_size = pg.sql("SELECT pg_table_size('events')", "app")[0][0]

            root = base / "backups"
            root.mkdir()
            env = pg.env(
                "app",
                PASSWORD,
                "app",
                DUMP_ROOT=str(root),
                DUMP_NAMESPACE="bench",
                DUMP_CLUSTER="postgres-app",
                DUMP_PUBLIC_KEY_FILE=str(keys.public),
            )
            dump = _timed(["bash", str(postgres.SCRIPTS / scripts.DUMP)], env)
            (file,) = (root / "bench" / "postgres-app").iterdir()
            file_size = file.stat().st_size

            restore_env = {
                **env,
                "PGDATABASE": "app_restored",
                "RESTORE_CLUSTER": "postgres-app",
                "RESTORE_FILE": "latest",
                "RESTORE_SOURCE_DATABASE": "app",
                "RESTORE_PRIVATE_KEY_FILE": str(keys.private),
            }
            restore = _timed(["bash", str(postgres.SCRIPTS / scripts.RESTORE)], restore_env)
            count = "SELECT count(*), sum(hashtext(e::text)::bigint) FROM events e"
            same = pg.sql(count, "app") == pg.sql(count, "app_restored")

            plain = base / "plain.dump"
            plain_time = _timed(["pg_dump", "--format=custom", f"--file={plain}", "app"], env)
            plain_size = plain.stat().st_size
        finally:
            postgres.stop_agent(base / "gnupg")

    print(f"PostgreSQL {pg.bindir.parent.name}, {args.rows} rows (filled in {fill:.1f}s)")
    print(f"database size (pg_database_size)     {_mb(db_size)}  (table {_mb(table_size)}, the rest indexes)")
    print(f"dump.sh: file .dump.gz.gpg           {_mb(file_size)}  ({file_size / db_size:.1%} of the database)")
    print(f"dump.sh: time                        {dump:.1f}s")
    print(f"restore.sh: time (verify + restore)  {restore:.1f}s")
    print(f"restored rows identical              {same}")
    print(f"reference: pg_dump -Fc, default -Z   {_mb(plain_size)} in {plain_time:.1f}s (unencrypted)")
    if not same:
        sys.exit("the restored rows differ")


if __name__ == "__main__":
    main()
