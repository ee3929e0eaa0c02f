"""Databases on one PostgresInstance are closed to each other's owners, on a real PostgreSQL server.

The chain is the real one: two PostgresDatabase claims on an instance are composed by the
function; their CNPG Databases (as the cluster holds them) are what the instance lists; the
pg_hba lines of the instance's composed Cluster are written into a throwaway server's
pg_hba.conf (tests/support/postgres.py: pytest-postgresql's executor), after the lines the
fixture needs (the superuser without a password, as CNPG's own lines come first) and before
CNPG's last line, `host all all all scram-sha-256`. Each database and its owner are created
with the password the claim's Secret holds. Then every connection is tried over TCP.
"""

from __future__ import annotations

import base64

import psycopg
import pytest

from function import keys
from function.instance.plan import OnInstance, hba
from tests.support import function as f
from tests.support import postgres

NAMESPACE = "apps"
CNPG_LAST_LINE = "host all all all scram-sha-256"


def _instance() -> dict:
    xr = f.composite("PostgresInstance", {}, name="shared", namespace=NAMESPACE)
    xr["status"] = {"cluster": "postgres-shared", "version": 17, "phase": "Cluster in healthy state"}
    return xr


def _database_claim(claim: str, database: str) -> tuple[dict, str]:
    """The CNPG Database a claim on the instance composes, and its owner's password from its Secret."""
    xr = f.composite(
        "PostgresDatabase", {"instanceRef": {"name": "shared"}, "databaseName": database}, claim, NAMESPACE
    )
    rsp, _ = f.converge(xr, required={keys.INSTANCE: [_instance()], keys.DATABASES_ON_CLUSTER: []})
    assert f.fatal(rsp) is None, f.fatal(rsp)
    composed = f.manifests(rsp)
    password = base64.b64decode(composed[keys.CREDENTIALS]["data"]["password"]).decode()
    return composed[keys.DATABASE], password


def _instance_hba(databases: list[dict]) -> list[str]:
    """The pg_hba of the instance's Cluster, composed with `databases` listed on it."""
    rsp, _ = f.converge(_instance(), required={keys.DATABASES_ON_CLUSTER: databases})
    assert f.fatal(rsp) is None, f.fatal(rsp)
    return f.manifests(rsp)[keys.CLUSTER]["spec"]["postgresql"]["pg_hba"]


@pytest.fixture(scope="module")
def setup():
    wiki, wiki_password = _database_claim("wiki", "wiki")
    tasks, tasks_password = _database_claim("tasks", "tasks")
    lines = _instance_hba([wiki, tasks])
    owners = {"wiki": ("wiki_user", wiki_password), "tasks": ("tasks_user", tasks_password)}
    # A third database and owner, created on the server but not (yet) listed by the instance.
    owners["later"] = ("later_user", "later-password-1")
    with postgres.server() as pg:
        for database, (owner, password) in owners.items():
            pg.sql(f"CREATE ROLE {owner} LOGIN PASSWORD '{password}'")
            pg.sql(f"CREATE DATABASE {database} OWNER {owner}")
        (hba_file,) = pg.sql("SHOW hba_file")[0]
        fixture_lines = ["local all all trust", f"host all {pg.superuser} 127.0.0.1/32 trust"]
        with open(hba_file, "w") as out:
            out.write("\n".join([*fixture_lines, *lines, CNPG_LAST_LINE]) + "\n")
        pg.sql("SELECT pg_reload_conf()")
        errors = pg.sql("SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL")
        assert errors == [], errors
        yield pg, owners, lines


def _connect(pg: postgres.Server, user: str, password: str, database: str) -> None:
    with psycopg.connect(host=pg.host, port=pg.port, user=user, password=password, dbname=database) as conn:
        assert conn.execute("SELECT current_user, current_database()").fetchone() == (user, database)


def test_the_instance_composes_exactly_the_lines_hba_makes_of_its_databases(setup):
    _, _, lines = setup
    expected = hba((OnInstance("tasks", "tasks_user", "tasks"), OnInstance("wiki", "wiki_user", "wiki")))
    assert lines == list(expected)
    assert lines == [
        'host "tasks" "tasks_user" all scram-sha-256',
        'host "wiki" "wiki_user" all scram-sha-256',
        'host "tasks" all all reject',
        'host "wiki" all all reject',
    ]


@pytest.mark.parametrize("database", ["wiki", "tasks"])
def test_each_owner_connects_to_its_own_database_over_tcp(setup, database):
    pg, owners, _ = setup
    owner, password = owners[database]
    _connect(pg, owner, password, database)


@pytest.mark.parametrize(("owner_of", "database"), [("wiki", "tasks"), ("tasks", "wiki")])
def test_an_owner_cannot_connect_to_another_database_on_the_instance(setup, owner_of, database):
    pg, owners, _ = setup
    owner, password = owners[owner_of]
    with pytest.raises(psycopg.OperationalError, match=r"pg_hba\.conf rejects connection"):
        _connect(pg, owner, password, database)


def test_the_owner_still_needs_its_password(setup):
    pg, owners, _ = setup
    owner, _ = owners["wiki"]
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        _connect(pg, owner, "not-the-password", "wiki")


@pytest.mark.parametrize("owner_of", ["wiki", "tasks"])
def test_a_listed_owner_reaches_the_unlisted_default_database_only_through_cnpg_last_line(setup, owner_of):
    # `postgres` is not listed: its owner-less rules do not apply, CNPG's last line does.
    pg, owners, _ = setup
    owner, password = owners[owner_of]
    _connect(pg, owner, password, "postgres")


def test_a_database_not_yet_listed_falls_through_to_cnpg_last_line(setup):
    pg, owners, _ = setup
    owner, password = owners["later"]
    _connect(pg, owner, password, "later")
    # ... and is not yet closed to the others: the instance lists it on its next reconcile.
    wiki_owner, wiki_password = owners["wiki"]
    _connect(pg, wiki_owner, wiki_password, "later")


def test_the_later_owner_is_refused_from_the_listed_databases(setup):
    pg, owners, _ = setup
    owner, password = owners["later"]
    for database in ("wiki", "tasks"):
        with pytest.raises(psycopg.OperationalError, match=r"pg_hba\.conf rejects connection"):
            _connect(pg, owner, password, database)


# --- names that pg_hba reads as keywords -------------------------------------------------------
# The database and owner names are plain PostgreSQL identifiers; some of them are pg_hba keywords
# when written unquoted (`all`, `sameuser`, `samerole`, `replication`). Whatever names the claims
# choose, each owner still reaches its own database and no other. `notes` is the control case.

KEYWORD_CASES = [
    ("notes", "notes_user"),
    ("all", "all_user"),
    ("wiki2", "all"),
    ("replication", "replication_user"),
    ("sameuser", "sameuser_user"),
    ("samerole", "samerole_user"),
]


def _composed_claim(claim: str, database: str, owner: str) -> dict:
    spec = {"instanceRef": {"name": "shared"}, "databaseName": database, "owner": owner}
    xr = f.composite("PostgresDatabase", spec, claim, NAMESPACE)
    rsp, _ = f.converge(xr, required={keys.INSTANCE: [_instance()], keys.DATABASES_ON_CLUSTER: []})
    assert f.fatal(rsp) is None, f.fatal(rsp)
    return f.manifests(rsp)[keys.DATABASE]


@pytest.fixture(scope="module")
def keyword_server():
    with postgres.server() as pg:
        for database, owner in [("wiki", "wiki_user"), *KEYWORD_CASES]:
            pg.sql(f"CREATE ROLE \"{owner}\" LOGIN PASSWORD '{owner}-password'")
            pg.sql(f'CREATE DATABASE "{database}" OWNER "{owner}"')
        yield pg


@pytest.mark.parametrize(("database", "owner"), KEYWORD_CASES, ids=[f"{d}-{o}" for d, o in KEYWORD_CASES])
def test_names_that_are_pg_hba_keywords_keep_every_database_closed_to_the_other_owners(keyword_server, database, owner):
    pg = keyword_server
    lines = _instance_hba([_composed_claim("wiki", "wiki", "wiki_user"), _composed_claim("kw", database, owner)])
    (hba_file,) = pg.sql("SHOW hba_file")[0]
    with open(hba_file, "w") as out:
        fixture_lines = ["local all all trust", f"host all {pg.superuser} 127.0.0.1/32 trust"]
        out.write("\n".join([*fixture_lines, *lines, CNPG_LAST_LINE]) + "\n")
    pg.sql("SELECT pg_reload_conf()")
    assert pg.sql("SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL") == []
    outcomes = {}
    for user, dbname in [("wiki_user", "wiki"), (owner, database), ("wiki_user", database), (owner, "wiki")]:
        try:
            _connect(pg, user, f"{user}-password", dbname)
            outcomes[(user, dbname)] = "connected"
        except psycopg.OperationalError as error:
            outcomes[(user, dbname)] = "rejected" if "pg_hba.conf rejects" in str(error) else str(error)
    assert outcomes == {
        ("wiki_user", "wiki"): "connected",
        (owner, database): "connected",
        ("wiki_user", database): "rejected",
        (owner, "wiki"): "rejected",
    }, (outcomes, lines)
