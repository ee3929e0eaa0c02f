"""The dump and restore scripts (function/scripts), run for real against a real PostgreSQL and GnuPG.

One throwaway server per session (tests/support/postgres.py: pytest-postgresql's executor,
as the `postgres` user when we are root); key pairs made in the session with the command
the docs give users. Every script is run exactly as the Jobs will run it: `bash SCRIPT`
with only environment variables, as a non-superuser role with its SCRAM password in
PGPASSWORD (which must never appear in what the scripts print).
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import re
import socket
import subprocess

import pytest
from psycopg import sql

from function import scripts
from tests.support import postgres

NAMESPACE = "shop"
OWNER, OWNER_PASSWORD = "shop_user", "s3cret-Owner-pw"
TARGET_OWNER, TARGET_PASSWORD = "restore_user", "an0ther-Restore-pw"
NAME_RE = re.compile(r"^shop-\d{8}T\d{6}Z\.dump\.gz\.gpg$")

SCHEMA = """
CREATE TABLE customers (
  id uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
  name text NOT NULL,
  password_hash text NOT NULL,
  created timestamptz NOT NULL DEFAULT '2026-01-01 00:00:00+00'
);
COMMENT ON TABLE customers IS 'people who buy things';
CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  customer uuid NOT NULL REFERENCES customers(id),
  token uuid NOT NULL DEFAULT gen_random_uuid(),
  total numeric(12, 2) NOT NULL,
  notes jsonb,
  secret bytea
);
CREATE INDEX orders_customer ON orders (customer);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
CREATE FUNCTION order_count(c uuid) RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM orders WHERE customer = c';
INSERT INTO customers (name, password_hash)
  SELECT 'customer ' || i, crypt('pw' || i, gen_salt('bf', 4)) FROM generate_series(1, 300) AS i;
INSERT INTO orders (customer, total, notes, secret)
  SELECT c.id, (i % 1000) + 0.25, jsonb_build_object('i', i, 'tag', md5(i::text)),
         pgp_sym_encrypt('card ' || i, 'k')::bytea
  FROM generate_series(1, 5000) AS i
  JOIN LATERAL (SELECT id FROM customers ORDER BY name OFFSET (i % 300) LIMIT 1) AS c ON true;
"""
TABLES = ("customers", "orders")


def _run(script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        ["bash", str(postgres.SCRIPTS / script)], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    for secret in (OWNER_PASSWORD, TARGET_PASSWORD):
        assert secret not in proc.stdout + proc.stderr, f"{script} printed a password"
    return proc


CONTENT = sql.SQL("SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM {} AS t")


def _content(pg: postgres.Server, db: str) -> dict[str, tuple[int, str]]:
    """Row count and md5 of the rows in primary-key order, per table: equal content, equal result."""
    return {table: pg.sql(CONTENT.format(sql.Identifier(table)), db)[0] for table in TABLES}


def _extensions(pg: postgres.Server, db: str) -> set[str]:
    return {row[0] for row in pg.sql("SELECT extname FROM pg_extension", db)}


def _tree(root: pathlib.Path) -> dict[str, str]:
    """Every file under root and the sha256 of its content: 'nothing deleted or overwritten' is this, unchanged."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def pg():
    with postgres.server() as server:
        server.sql(f"CREATE ROLE {OWNER} LOGIN PASSWORD '{OWNER_PASSWORD}'")
        server.sql(f"CREATE ROLE {TARGET_OWNER} LOGIN PASSWORD '{TARGET_PASSWORD}'")
        # As CNPG: the database and its owner from initdb, the extensions by the superuser
        # (the CNPG Database resource), the tables by the application as the owner.
        server.sql(f"CREATE DATABASE shop OWNER {OWNER}")
        server.sql('CREATE EXTENSION "uuid-ossp"; CREATE EXTENSION pgcrypto', "shop")
        server.sql(f"SET ROLE {OWNER}; {SCHEMA}", "shop")
        yield server


@pytest.fixture(scope="module", autouse=True)
def _no_gpg_agent_left():
    """Stop the gpg-agent (dirmngr, keyboxd) of every GnuPG home these tests ran gpg in."""
    try:
        yield
    finally:
        postgres.stop_agents()


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    base = tmp_path_factory.mktemp("keys")
    try:
        pair = postgres.make_key_pair(base / "gnupg", base / "admin")
        other = postgres.make_key_pair(base / "gnupg-other", base / "other")
        yield pair, other
    finally:
        postgres.stop_agent(base / "gnupg")
        postgres.stop_agent(base / "gnupg-other")


@pytest.fixture
def root(tmp_path):
    path = tmp_path / "backups"
    path.mkdir()
    return path


def _dump(pg, keys, root, *, cluster="postgres-shop", **extra) -> subprocess.CompletedProcess:
    env = pg.env(
        OWNER,
        OWNER_PASSWORD,
        "shop",
        DUMP_ROOT=str(root),
        DUMP_NAMESPACE=NAMESPACE,
        DUMP_CLUSTER=cluster,
        DUMP_PUBLIC_KEY_FILE=str(keys[0].public),
    )
    return _run(scripts.DUMP, {**env, **extra})


def _dump_file(pg, keys, root, **extra) -> pathlib.Path:
    proc = _dump(pg, keys, root, **extra)
    assert proc.returncode == 0, proc.stderr
    files = list((root / NAMESPACE / "postgres-shop").iterdir())
    return max(files)


_counter = iter(range(1_000_000))


def _target(pg, *, extensions: bool = True) -> str:
    """A fresh, empty database owned by TARGET_OWNER, with the claim's extensions created (as CNPG does) or not."""
    db = f"restored_{next(_counter)}"
    pg.sql(f"CREATE DATABASE {db} OWNER {TARGET_OWNER}")
    if extensions:
        pg.sql('CREATE EXTENSION "uuid-ossp"; CREATE EXTENSION pgcrypto', db)
    return db


def _restore(pg, keys, root, db, **extra):
    """Run restore.sh into `db` as TARGET_OWNER; `extra` overrides its environment (RESTORE_FILE=..., ...)."""
    env = pg.env(
        TARGET_OWNER,
        TARGET_PASSWORD,
        db,
        DUMP_ROOT=str(root),
        DUMP_NAMESPACE=NAMESPACE,
        RESTORE_CLUSTER="postgres-shop",
        RESTORE_FILE="latest",
        RESTORE_SOURCE_DATABASE="shop",
        RESTORE_PRIVATE_KEY_FILE=str(keys[0].private),
    )
    return _run(scripts.RESTORE, {**env, **extra})


# --- the round trip -----------------------------------------------------------------------


def test_a_dump_is_one_encrypted_file_under_the_namespace_and_cluster_folder(pg, keys, root):
    proc = _dump(pg, keys, root)
    assert proc.returncode == 0, proc.stderr
    folder = root / NAMESPACE / "postgres-shop"
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 1, files  # no temporary left behind
    assert NAME_RE.match(files[0]), files
    path = folder / files[0]
    assert path.stat().st_mode & 0o777 == 0o600
    assert f"wrote {path}" in proc.stderr
    # The timestamp is UTC and now.
    stamp = files[0].removeprefix("shop-").removesuffix(".dump.gz.gpg")
    assert re.fullmatch(r"\d{8}T\d{6}Z", stamp)


def test_the_file_is_not_readable_without_the_private_key_and_is_aes256_to_the_public_key(pg, keys, root, tmp_path):
    path = _dump_file(pg, keys, root)
    data = path.read_bytes()
    assert b"PGDMP" not in data and b"customer 1" not in data
    # Without any key: the packets are a public-key-encrypted session key for our encryption
    # subkey, then integrity-protected encrypted data (tag 18, MDC); nothing is readable.
    empty = tmp_path / "no-keys"
    empty.mkdir(mode=0o700)
    listed = postgres.gpg(empty, "--list-packets", str(path), check=False, text=True)
    assert listed.returncode != 0
    assert "No secret key" in listed.stderr
    assert re.search(r"^:pubkey enc packet: version 3, algo 18, keyid [0-9A-F]{16}$", listed.stdout, re.M), (
        listed.stdout
    )
    assert re.search(r"tag=18 .*\n:encrypted data packet:\n\tlength: \w+\n\tmdc_method: 2", listed.stdout), (
        listed.stdout
    )
    assert ":literal data packet:" not in listed.stdout
    # Nor with the other key pair.
    other_home = keys[1].private.parent.parent / "gnupg-other"
    wrong = postgres.gpg(other_home, "--decrypt", str(path), check=False)
    assert wrong.returncode != 0 and wrong.stdout == b""
    # With the private key: the session key is AES256 (OpenPGP cipher algorithm 9).
    home = keys[0].private.parent.parent / "gnupg"
    verbose = postgres.gpg(home, "-v", "--list-packets", str(path), text=True)
    assert "AES256 encrypted data" in verbose.stderr
    decrypted = postgres.gpg(home, "--status-fd", "2", "--decrypt", str(path))
    assert b"[GNUPG:] DECRYPTION_INFO 2 9" in decrypted.stderr  # MDC (SHA-1), AES256
    assert b"[GNUPG:] GOODMDC" in decrypted.stderr
    # Inside: one gzip stream (magic 1f 8b, no file name) of a pg_dump custom archive.
    assert decrypted.stdout[:2] == b"\x1f\x8b"
    plain = subprocess.run(["gzip", "-dc"], input=decrypted.stdout, capture_output=True, check=True).stdout
    assert plain[:5] == b"PGDMP"


def test_restores_into_a_fresh_database_with_identical_content_and_the_extensions(pg, keys, root):
    _dump_file(pg, keys, root)
    db = _target(pg)  # the claim's extensions already there, as the CNPG Database makes them
    proc = _restore(pg, keys, root, db)
    assert proc.returncode == 0, proc.stderr
    assert _content(pg, db) == _content(pg, "shop")
    assert _content(pg, db)["orders"][0] == 5000
    assert {"uuid-ossp", "pgcrypto"} <= _extensions(pg, db)
    # Owned by the new owner, whatever owned them before; and usable as they were.
    owners = pg.sql("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'", db)
    assert owners == [(TARGET_OWNER,)]
    assert pg.sql("SELECT obj_description('customers'::regclass)", db) == [("people who buy things",)]
    assert pg.sql("SELECT count(*) FROM big_orders", db) == pg.sql("SELECT count(*) FROM big_orders", "shop")
    check = "SELECT password_hash = crypt('pw7', password_hash) FROM customers WHERE name = 'customer 7'"
    assert pg.sql(check, db) == [(True,)]
    new_id = pg.sql("INSERT INTO customers (name, password_hash) VALUES ('n', 'x') RETURNING id", db)[0][0]
    assert len(str(new_id)) == 36  # uuid_generate_v4() works
    next_order = pg.sql("SELECT nextval('orders_id_seq')", db)[0][0]
    assert next_order == 5001  # sequences restored with their values


def test_restores_without_the_extensions_created_beforehand(pg, keys, root):
    _dump_file(pg, keys, root)
    db = _target(pg, extensions=False)
    proc = _restore(pg, keys, root, db)
    assert proc.returncode == 0, proc.stderr
    assert _content(pg, db) == _content(pg, "shop")
    assert {"uuid-ossp", "pgcrypto"} <= _extensions(pg, db)  # trusted extensions: the owner creates them


def test_a_superuser_restore_maps_every_object_to_the_new_owner(pg, keys, root):
    _dump_file(pg, keys, root)
    db = _target(pg)
    proc = _restore(pg, keys, root, db, PGUSER=pg.superuser, PGPASSWORD="unused", RESTORE_OWNER=TARGET_OWNER)
    assert proc.returncode == 0, proc.stderr
    assert _content(pg, db) == _content(pg, "shop")
    owners = pg.sql(
        "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = 'public'::regnamespace", db
    )
    assert owners == [(TARGET_OWNER,)]
    assert pg.sql("SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'order_count'", db) == [
        (TARGET_OWNER,)
    ]


def test_latest_picks_the_newest_dump_of_the_database_and_a_name_picks_that_file(pg, keys, root):
    first = _dump_file(pg, keys, root)
    folder = first.parent
    older = folder / "shop-20200101T000000Z.dump.gz.gpg"
    older.write_bytes(b"not a dump")  # older by its name: latest must not pick it
    proc = _restore(pg, keys, root, _target(pg))
    assert proc.returncode == 0, proc.stderr
    assert f"restoring {first.name}" in proc.stderr
    named = _restore(pg, keys, root, _target(pg), RESTORE_FILE=older.name)
    assert named.returncode == 6
    assert "truncated or corrupt" in named.stderr


def test_restore_refuses_a_database_that_is_not_empty_and_changes_nothing(pg, keys, root):
    _dump_file(pg, keys, root)
    db = _target(pg)
    pg.sql(f"SET ROLE {TARGET_OWNER}; CREATE TABLE mine (x int)", db)
    pg.sql("INSERT INTO mine VALUES (1)", db)
    before = _tree(root)
    proc = _restore(pg, keys, root, db)
    assert proc.returncode == 7
    assert f"database {db} is not empty" in proc.stderr and "RESTORE_FORCE=true" in proc.stderr
    assert pg.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", db) == [(1,)]
    assert _tree(root) == before
    forced = _restore(pg, keys, root, db, RESTORE_FORCE="true")
    assert forced.returncode == 0, forced.stderr
    assert _content(pg, db) == _content(pg, "shop")
    assert pg.sql("SELECT count(*) FROM mine", db) == [(1,)]


def test_a_restore_that_fails_rolls_back_entirely(pg, keys, root):
    _dump_file(pg, keys, root)
    db = _target(pg)
    # A conflicting object the dump also creates: pg_restore stops, the transaction rolls back.
    pg.sql(f"SET ROLE {TARGET_OWNER}; CREATE TABLE orders (x int)", db)
    proc = _restore(pg, keys, root, db, RESTORE_FORCE="true")
    assert proc.returncode == 1
    assert "rolled back" in proc.stderr and 'relation "orders" already exists' in proc.stderr
    tables = pg.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", db)
    assert tables == [("orders",)]


# --- failures: a clear message, a non-zero exit, nothing deleted or overwritten -------------


def test_restore_with_the_wrong_key(pg, keys, root):
    path = _dump_file(pg, keys, root)
    db = _target(pg)
    before = _tree(root)
    proc = _restore(pg, keys, root, db, RESTORE_PRIVATE_KEY_FILE=str(keys[1].private))
    assert proc.returncode == 5, proc.stderr
    assert f"cannot decrypt {path.name}: it was encrypted to key" in proc.stderr
    assert _tree(root) == before
    assert pg.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", db) == [(0,)]
    public = _restore(pg, keys, root, db, RESTORE_PRIVATE_KEY_FILE=str(keys[0].public))
    assert public.returncode == 5
    assert "holds no OpenPGP private key" in public.stderr


def test_restore_with_a_passphrase_protected_key(pg, keys, root, tmp_path):
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    passphrase = "correct horse battery staple"
    try:
        postgres.gpg(home, "--passphrase", passphrase, *postgres.KEYGEN)
        public = tmp_path / "pub.asc"
        private = tmp_path / "private.asc"
        public.write_bytes(postgres.gpg(home, "--armor", "--export").stdout)
        exported = postgres.gpg(
            home, "--pinentry-mode", "loopback", "--passphrase", passphrase, "--armor", "--export-secret-keys"
        )
        private.write_bytes(exported.stdout)
    finally:
        postgres.stop_agent(home)
    proc = _dump(pg, keys, root, DUMP_PUBLIC_KEY_FILE=str(public))
    assert proc.returncode == 0, proc.stderr
    right = tmp_path / "passphrase"
    right.write_text(passphrase + "\n")
    wrong = tmp_path / "wrong"
    wrong.write_text("not it\n")
    db = _target(pg)
    missing = _restore(pg, keys, root, db, RESTORE_PRIVATE_KEY_FILE=str(private))
    assert missing.returncode == 5
    assert "protected by a passphrase: give it in RESTORE_PASSPHRASE_FILE" in missing.stderr
    bad = _restore(pg, keys, root, db, RESTORE_PRIVATE_KEY_FILE=str(private), RESTORE_PASSPHRASE_FILE=str(wrong))
    assert bad.returncode == 5
    assert f"could not be unlocked with the passphrase in {wrong}" in bad.stderr
    assert pg.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", db) == [(0,)]
    good = _restore(pg, keys, root, db, RESTORE_PRIVATE_KEY_FILE=str(private), RESTORE_PASSPHRASE_FILE=str(right))
    assert good.returncode == 0, good.stderr
    assert _content(pg, db) == _content(pg, "shop")
    assert passphrase not in missing.stderr + bad.stderr + good.stderr


@pytest.mark.parametrize("cut", ["half", "last-byte"])
def test_restore_of_a_truncated_file(pg, keys, root, cut):
    path = _dump_file(pg, keys, root)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if cut == "half" else data[:-1])
    db = _target(pg)
    before = _tree(root)
    proc = _restore(pg, keys, root, db, RESTORE_FILE=path.name)
    assert proc.returncode == 6, proc.stderr
    assert f"{path.name} is truncated or corrupt" in proc.stderr
    assert _tree(root) == before
    assert pg.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", db) == [(0,)]


def test_restore_of_an_altered_file(pg, keys, root):
    path = _dump_file(pg, keys, root)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit in the middle of the encrypted data
    path.write_bytes(bytes(data))
    db = _target(pg)
    proc = _restore(pg, keys, root, db, RESTORE_FILE=path.name)
    assert proc.returncode == 6, proc.stderr
    assert "truncated or corrupt" in proc.stderr
    assert pg.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", db) == [(0,)]


def test_restore_of_a_missing_file(pg, keys, root):
    _dump_file(pg, keys, root)
    before = _tree(root)
    missing = _restore(pg, keys, root, _target(pg), RESTORE_FILE="shop-20990101T000000Z.dump.gz.gpg")
    assert missing.returncode == 4
    assert "no such dump file" in missing.stderr and "shop-20990101T000000Z.dump.gz.gpg" in missing.stderr
    no_folder = _restore(pg, keys, root, _target(pg), RESTORE_CLUSTER="postgres-gone")
    assert no_folder.returncode == 4
    assert "postgres-gone does not exist" in no_folder.stderr
    bad_name = _restore(pg, keys, root, _target(pg), RESTORE_FILE="../other/shop-20990101T000000Z.dump.gz.gpg")
    assert bad_name.returncode == 2
    assert _tree(root) == before


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dump_and_restore_against_an_unreachable_server(pg, keys, root):
    path = _dump_file(pg, keys, root)
    before = _tree(root)
    port = str(_closed_port())
    dump = _dump(pg, keys, root, PGPORT=port)
    assert dump.returncode == 3
    assert f"cannot connect to PostgreSQL at 127.0.0.1:{port} as {OWNER}" in dump.stderr
    restore = _restore(pg, keys, root, "shop", RESTORE_FILE=path.name, PGPORT=port)
    assert restore.returncode == 3
    assert f"cannot connect to PostgreSQL at 127.0.0.1:{port} as {TARGET_OWNER}" in restore.stderr
    assert _tree(root) == before


def test_dump_with_a_wrong_password_fails_without_printing_it(pg, keys, root):
    proc = _dump(pg, keys, root, PGPASSWORD="wrong-" + OWNER_PASSWORD)
    assert proc.returncode == 3
    assert "password authentication failed" in proc.stderr
    assert "wrong-" not in proc.stderr
    assert not (root / NAMESPACE).exists()


def test_a_failed_dump_leaves_no_file_and_keeps_the_others(pg, keys, root):
    first = _dump_file(pg, keys, root)
    first.rename(first.with_name("shop-20200101T000000Z.dump.gz.gpg"))  # not this second's name
    before = _tree(root)
    # A table the dumping role may not read: pg_dump fails half-way through.
    pg.sql("CREATE TABLE private_things (x int); REVOKE ALL ON private_things FROM PUBLIC", "shop")
    try:
        proc = _dump(pg, keys, root)
    finally:
        pg.sql("DROP TABLE private_things", "shop")
    assert proc.returncode == 1
    assert "pg_dump failed" in proc.stderr and "permission denied" in proc.stderr
    assert _tree(root) == before  # no new file, no temporary, the old one untouched
    assert not any(p.name.startswith(".") for p in (root / NAMESPACE / "postgres-shop").iterdir())


def test_dump_refuses_a_private_key_and_a_key_that_is_no_key(pg, keys, root, tmp_path):
    private = _dump(pg, keys, root, DUMP_PUBLIC_KEY_FILE=str(keys[0].private))
    assert private.returncode == 2
    assert "holds a PRIVATE key" in private.stderr
    junk = tmp_path / "junk.asc"
    junk.write_text("hello\n")
    proc = _dump(pg, keys, root, DUMP_PUBLIC_KEY_FILE=str(junk))
    assert proc.returncode == 2
    assert "is not an OpenPGP key" in proc.stderr or "holds no OpenPGP public key" in proc.stderr
    assert not (root / NAMESPACE).exists()


def test_dump_to_a_key_that_cannot_encrypt_fails_and_writes_nothing(pg, keys, root, tmp_path):
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    try:
        postgres.gpg(home, "--passphrase", "", "--quick-gen-key", "signing only", "ed25519", "sign", "never")
        sign_only = tmp_path / "sign-only.asc"
        sign_only.write_bytes(postgres.gpg(home, "--armor", "--export").stdout)
    finally:
        postgres.stop_agent(home)
    proc = _dump(pg, keys, root, DUMP_PUBLIC_KEY_FILE=str(sign_only))
    assert proc.returncode == 1
    assert f"gpg could not encrypt to {sign_only}" in proc.stderr
    assert "pg_dump failed" not in proc.stderr  # the cause, not pg_dump's broken pipe
    assert list((root / NAMESPACE / "postgres-shop").iterdir()) == []


def test_restore_of_a_file_that_decrypts_to_something_else(pg, keys, root, tmp_path):
    folder = root / NAMESPACE / "postgres-shop"
    folder.mkdir(parents=True)
    plain = tmp_path / "plain"
    plain.write_bytes(b"PGDMP but not gzip" * 1000)
    not_gzip = folder / "shop-20260101T000000Z.dump.gz.gpg"
    home = keys[0].private.parent.parent / "gnupg"
    postgres.gpg(home, "--recipient-file", str(keys[0].public), "--output", str(not_gzip), "--encrypt", str(plain))
    gzip_not_dump = folder / "shop-20260102T000000Z.dump.gz.gpg"
    gz = subprocess.run(["gzip", "-c", str(plain)], capture_output=True, check=True).stdout
    plain.write_bytes(gz)
    postgres.gpg(home, "--recipient-file", str(keys[0].public), "--output", str(gzip_not_dump), "--encrypt", str(plain))
    db = _target(pg)
    proc = _restore(pg, keys, root, db, RESTORE_FILE=not_gzip.name)
    assert proc.returncode == 6
    assert f"{not_gzip.name} is truncated or corrupt (gzip:" in proc.stderr
    proc = _restore(pg, keys, root, db, RESTORE_FILE=gzip_not_dump.name)
    assert proc.returncode == 6
    assert f"{gzip_not_dump.name} is not a pg_dump archive" in proc.stderr
    assert pg.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", db) == [(0,)]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DUMP_NAMESPACE", "../etc"),
        ("DUMP_CLUSTER", "a/b"),
        ("PGDATABASE", "shop; rm -rf /"),
        ("DUMP_ROOT", "/nonexistent"),
    ],
)
def test_dump_refuses_names_that_are_not_names(pg, keys, root, variable, value):
    proc = _dump(pg, keys, root, **{variable: value})
    assert proc.returncode == 2
    assert variable in proc.stderr
    assert list(root.iterdir()) == []


def test_the_scripts_are_package_data_and_need_nothing_else():
    for name in scripts.ALL:
        source = scripts.text(name)
        assert source == (postgres.SCRIPTS / name).read_text()
        assert source.startswith("#!/bin/bash\n")
        assert os.access(postgres.SCRIPTS / name, os.X_OK)
        assert "source " not in source and "\n. " not in source  # self-contained
    with pytest.raises(ValueError, match="no such script"):
        scripts.text("other.sh")
