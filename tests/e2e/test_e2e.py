"""End to end on a real cluster: the platform installed as an admin would, then
the postgres-example application, its database, a backup and a restore.

Run with `make e2e` against the cluster in KUBECONFIG (Crossplane 1.20 or 2.x
installed, and cert-manager: the Barman Cloud plugin needs it), or
`make e2e-kind`, which creates a kind cluster with all that, builds the
function, runs this suite and deletes the cluster. Without a cluster every step
skips with the reason.

The function under test is the package in TAU_FUNCTION_PACKAGE (an OCI
reference Crossplane can pull); TAU_FUNCTION_IMAGE, when set, is the image its
pods run instead (make e2e-kind loads it into the kind nodes). Backups go to
the suite's own MinIO through the Barman Cloud plugin: kind has no Longhorn or
CSI snapshots. Logical dumps (backup.dump) go to a ReadWriteMany volume of the
StorageClass nfs-client (TAU_E2E_DUMP_STORAGE_CLASS), which make e2e-kind makes
with csi-driver-nfs and an NFS server in the cluster (manifests/nfs*.yaml), and run
the dump image in TAU_E2E_DUMP_IMAGE (make e2e-kind builds it); without that class
the dump steps skip, naming it. Nothing the suite applies is unchecked:
tests/test_install_e2e.py validates every manifest of tests/e2e/resources.py
against its schema.

The steps run in order and share the cluster; after a failure the rest skip.
TAU_E2E_KEEP=1 leaves the suite's namespaces behind for a look.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
from collections.abc import Iterator

import pytest

from function import kinds, names
from function.api import definitions
from tests.e2e import resources as r
from tests.e2e.cluster import TIMEOUT, ClusterError, Kubectl
from tests.support import postgres

pytestmark = pytest.mark.e2e

OPERATOR = "cnpg"
SNAPSHOT_CLASS_CRD = "volumesnapshotclasses.snapshot.storage.k8s.io"
ACTIVATION_POLICY_CRD = "managedresourceactivationpolicies.apiextensions.crossplane.io"
ROW = f"written by the e2e suite {secrets.token_hex(4)}"
SOURCE = r.database_names(r.APPLICATION)
TARGET = r.database_names(r.RESTORED)


def _psql_url(kubectl: Kubectl, sql: str) -> str:
    """Run SQL in the application's pod, as the application connects: with its DATABASE_URL."""
    return kubectl.exec(
        r.NAMESPACE, f"deploy/{r.APPLICATION}", "sh", "-c", f'psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -tAc "{sql}"'
    )


def _primary(kubectl: Kubectl, cluster: str) -> str:
    out = kubectl.run("get", "pods", "-n", r.NAMESPACE, "-l", f"cnpg.io/cluster={cluster},cnpg.io/instanceRole=primary",
                      "-o", "jsonpath={.items[0].metadata.name}")  # fmt: skip
    if not out:
        raise ClusterError(f"no primary pod of CNPG Cluster {cluster}")
    return out


# ---------------------------------------------------------------------------------------------------------------
# The platform, as a platform admin installs it (examples/install, docs/sections/install.md).


def test_install_the_providers(kubectl: Kubectl):
    activation = kubectl.has_crd(ACTIVATION_POLICY_CRD)  # Crossplane 2.x
    files = r.install_files(activation_policy=activation)
    provider_configs = [p for p in files if p.name == "07-provider-configs.yaml"]
    for path in files:
        if path in provider_configs:
            for provider in ("provider-kubernetes", "provider-helm"):
                kubectl.wait_condition("provider.pkg.crossplane.io", provider, "Healthy")
        kubectl.apply(path)
    for group in ("kubernetes.crossplane.io", "helm.crossplane.io"):
        assert kubectl.exists(f"providerconfig.{group}", "default")


def test_install_the_function(kubectl: Kubectl):
    package = os.environ.get("TAU_FUNCTION_PACKAGE")
    if not package:
        pytest.fail("TAU_FUNCTION_PACKAGE must name the Function package to test (make e2e-kind builds and serves one)")
    kubectl.apply(r.function(package, os.environ.get("TAU_FUNCTION_IMAGE")))
    kubectl.wait_condition("function.pkg.crossplane.io", definitions.FUNCTION_NAME, "Healthy")


def test_install_the_apis(kubectl: Kubectl):
    for path in r.api_files():
        kubectl.apply(path)
    for definition in (k.definition for k in kinds.KINDS):
        kubectl.wait_condition("compositeresourcedefinition", definition.name, "Established")
        if definition.claim_kind:
            kubectl.wait_condition("compositeresourcedefinition", definition.name, "Offered")
    kubectl.apply(r.compositions())


def test_the_operator_becomes_ready(kubectl: Kubectl):
    snapshot_class = kubectl.has_crd(SNAPSHOT_CLASS_CRD)
    # Longhorn's snapshot clean-up settings only where Longhorn runs (kind has none).
    longhorn = kubectl.has_crd("settings.longhorn.io")
    kubectl.apply([r.operator(snapshot_class=snapshot_class, longhorn=longhorn)])
    xr = kubectl.wait_condition(f"cnpgoperator.{definitions.GROUP}", OPERATOR, "Ready", timeout=TIMEOUT * 2)
    status = xr["status"]
    assert status["chartVersion"] == "0.29.0" and status["state"] == "deployed", status
    assert status["barmanCloudPlugin"] == {"chartVersion": "0.7.0", "state": "deployed"}, status
    deployments = json.loads(kubectl.run("get", "deployments", "-n", "cnpg-system", "-o", "json"))["items"]
    available = {d["metadata"]["name"]: (d.get("status") or {}).get("availableReplicas") for d in deployments}
    assert available.get("cnpg-cloudnative-pg") == 1 and available.get("cnpg-plugin-barman-cloud") == 1, available
    if snapshot_class:
        vsc = kubectl.get("volumesnapshotclass", "longhorn-backup")
        assert vsc is not None and vsc["parameters"] == {"type": "bak"}, vsc


def test_the_object_store_is_up(kubectl: Kubectl):
    kubectl.apply(r.MANIFESTS / "minio.yaml")
    kubectl.wait_condition("deployment", "minio", "Available", namespace="tau-e2e-minio")
    kubectl.wait_condition("job", "create-bucket", "Complete", namespace="tau-e2e-minio")


# ---------------------------------------------------------------------------------------------------------------
# The postgres-example application and its database.


def test_the_postgres_example_becomes_ready(kubectl: Kubectl):
    kubectl.apply([r.namespace()])
    kubectl.apply([r.application()])
    claim = kubectl.wait_condition("tauapplication", r.APPLICATION, "Ready", namespace=r.NAMESPACE)
    database = claim["status"]["database"]
    assert database["host"] == f"{SOURCE['cluster']}-rw.{r.NAMESPACE}.svc", database
    assert database["secretName"] == SOURCE["secret"], database


def test_the_application_reaches_its_database_with_its_extensions(kubectl: Kubectl):
    assert _psql_url(kubectl, "select 1").strip() == "1"
    extensions = set(_psql_url(kubectl, "select extname from pg_extension").split())
    assert {"uuid-ossp", "pgcrypto"} <= extensions, extensions
    env = kubectl.exec(r.NAMESPACE, f"deploy/{r.APPLICATION}", "sh", "-c", "echo $DB_HOST $DB_PORT $DB_NAME $DB_USER")
    assert env.split() == [f"{SOURCE['cluster']}-rw.{r.NAMESPACE}.svc", "5432", SOURCE["database"], SOURCE["owner"]]


def test_write_a_row(kubectl: Kubectl):
    _psql_url(kubectl, "create table if not exists e2e_rows (id int primary key, note text not null)")
    # ROW is made of letters, digits and spaces only: nothing in it can end the SQL string.
    _psql_url(kubectl, f"insert into e2e_rows values (1, '{ROW}') on conflict (id) do update set note = excluded.note")  # noqa: S608
    assert _psql_url(kubectl, "select note from e2e_rows where id = 1").strip() == ROW


def test_an_on_demand_backup_completes(kubectl: Kubectl):
    kubectl.apply([r.backup()])

    def completed() -> str | None:
        backup = kubectl.get("backup.postgresql.cnpg.io", r.BACKUP, r.NAMESPACE) or {}
        status = backup.get("status") or {}
        if status.get("phase") == "failed":
            raise ClusterError(f"Backup {r.BACKUP} failed: {status.get('error')}")
        return None if status.get("phase") == "completed" else f"phase {status.get('phase')!r}"

    kubectl.wait_for(f"Backup {r.BACKUP} to complete", completed)


def test_restore_the_backup_into_a_new_database_and_read_the_row(kubectl: Kubectl):
    kubectl.apply([r.restored()])
    kubectl.wait_condition("postgresdatabase", r.RESTORED, "Ready", namespace=r.NAMESPACE)
    # The restored claim names no version: it takes the backup's (16), not the platform's default (15).
    cluster = kubectl.get("cluster.postgresql.cnpg.io", TARGET["cluster"], r.NAMESPACE) or {}
    assert cluster["spec"]["imageName"].split(":")[1].startswith(f"{r.SOURCE_VERSION}-"), cluster.get("spec")
    primary = _primary(kubectl, TARGET["cluster"])
    note = kubectl.exec(r.NAMESPACE, primary, "psql", "-d", SOURCE["database"], "-tAc",
                        "select note from e2e_rows where id = 1", container="postgres")  # fmt: skip
    assert note.strip() == ROW
    # The restored claim's own credentials work too (the owner and database of the backup).
    secret = kubectl.get("secret", TARGET["secret"], r.NAMESPACE)
    assert secret is not None
    assert base64.b64decode(secret["data"]["DB_NAME"]).decode() == SOURCE["database"]


def test_the_restored_cluster_runs_the_backups_major_version(kubectl: Kubectl):
    """Issue #10, item 1: the restored claim leaves instance.version out, and its server is the backup's major.

    CNPG records the major on every Backup (`status.majorVersion`); docs/POSTGRES_USAGE.md "Restore": a restore
    takes it. A restore into another major would never start (PostgreSQL refuses the data directory), so a
    running 16 server with the row in it is the proof; the claim says Available, with no version complaint.
    """
    assert "instance" not in r.restored()["spec"]
    backup = kubectl.get("backup.postgresql.cnpg.io", r.BACKUP, r.NAMESPACE) or {}
    assert backup.get("status", {}).get("majorVersion") == r.SOURCE_VERSION, backup.get("status")
    primary = _primary(kubectl, TARGET["cluster"])
    version = kubectl.exec(r.NAMESPACE, primary, "psql", "-tAc", "show server_version_num", container="postgres")
    assert version.strip().startswith(str(r.SOURCE_VERSION)), version
    claim = kubectl.get(f"postgresdatabase.{definitions.GROUP}", r.RESTORED, r.NAMESPACE) or {}
    conditions = {c["type"]: c for c in claim["status"]["conditions"]}
    assert conditions["DatabaseReady"]["status"] == "True", conditions
    assert conditions["DatabaseReady"]["reason"] == "Available", conditions
    assert "VersionSupported" not in conditions, conditions  # only on a major past its end of life


# ---------------------------------------------------------------------------------------------------------------
# Deleting the claims leaves exactly what their deletionPolicy says.


def test_deleting_the_retained_application_keeps_its_data(kubectl: Kubectl):
    """postgres-example has the default deletionPolicy Retain: its database outlives it; the app does not."""
    kubectl.delete("tauapplication", r.APPLICATION, r.NAMESPACE)
    kubectl.wait_gone("tauapplication", r.APPLICATION, r.NAMESPACE)
    kubectl.wait_gone("deployment", r.APPLICATION, r.NAMESPACE)  # the application's resources are always deleted
    assert kubectl.exists("cluster.postgresql.cnpg.io", SOURCE["cluster"], r.NAMESPACE)
    assert kubectl.exists("secret", SOURCE["secret"], r.NAMESPACE)
    assert kubectl.exists("backup.postgresql.cnpg.io", r.BACKUP, r.NAMESPACE)


def test_crossplane_2_apis_take_over_the_retained_application_and_its_data(kubectl: Kubectl):
    """The migration of docs/POSTGRES_USAGE.md: the claim is gone (Retain), a v2 TauApplication adopts its database.

    Crossplane 2.x only: the Crossplane 2 APIs (apis-v2/) are installed beside the claim APIs.
    """
    if not kubectl.has_crd(ACTIVATION_POLICY_CRD):
        pytest.skip("Crossplane 1.20: the Crossplane 2 APIs (XRD v2) need Crossplane 2.x")
    for path in r.v2_install_files():
        kubectl.apply(path)
    for path in r.v2_api_files():
        kubectl.apply(path)
    for definition in (k.definition for k in kinds.KINDS):
        kubectl.wait_condition("compositeresourcedefinition", definition.v2_name, "Established")
    kubectl.apply(r.v2_compositions())
    password = kubectl.get("secret", SOURCE["secret"], r.NAMESPACE)["data"]["password"]
    kubectl.apply([r.application_v2()])
    xr = kubectl.wait_condition(f"tauapplication.{definitions.V2_GROUP}", r.APPLICATION, "Ready", namespace=r.NAMESPACE)
    assert xr["status"]["database"]["secretName"] == SOURCE["secret"], xr["status"]
    assert kubectl.get("secret", SOURCE["secret"], r.NAMESPACE)["data"]["password"] == password
    assert _psql_url(kubectl, "select note from e2e_rows where id = 1").strip() == ROW  # the data came along


def test_deleting_the_restored_database_with_delete_removes_it(kubectl: Kubectl):
    # Fully qualified: with the Crossplane 2 APIs installed, `postgresdatabase` names two kinds.
    kubectl.delete(f"postgresdatabase.{definitions.GROUP}", r.RESTORED, r.NAMESPACE)
    kubectl.wait_gone(f"postgresdatabase.{definitions.GROUP}", r.RESTORED, r.NAMESPACE)
    kubectl.wait_gone("cluster.postgresql.cnpg.io", TARGET["cluster"], r.NAMESPACE)
    kubectl.wait_gone("secret", TARGET["secret"], r.NAMESPACE)
    # The source is untouched by the restored claim's deletion.
    assert kubectl.exists("cluster.postgresql.cnpg.io", SOURCE["cluster"], r.NAMESPACE)


# ---------------------------------------------------------------------------------------------------------------
# Two applications on one PostgresInstance with a pooler (issue #14, docs/SHARED_INSTANCES.md): each reaches its
# own database, and only it, directly and through PgBouncer. Fully qualified kinds: with the Crossplane 2 APIs
# installed, `postgresinstance` and `tauapplication` name two kinds each.

INSTANCE_CLAIM = f"postgresinstance.{definitions.GROUP}"
APPLICATION_CLAIM = f"tauapplication.{definitions.GROUP}"
SHARED = r.instance_names()
ONE, TWO = r.SHARED_APPLICATIONS


def _own(app: str) -> dict[str, str]:
    return r.database_names(app)


def _psql_in(app: str, kubectl: Kubectl, sql: str, url: str = "$DATABASE_URL") -> str:
    """Run SQL in an application's pod with one of its URLs (a variable of the pod: the password stays in it)."""
    return kubectl.exec(r.NAMESPACE, f"deploy/{app}", "sh", "-c", f'psql "{url}" -v ON_ERROR_STOP=1 -tAc "{sql}"')


def _upsert(row: int, note: str) -> str:
    # `note` is made of letters, digits, spaces and '-' only: nothing in it can end the SQL string.
    return f"insert into e2e_rows values ({row}, '{note}') on conflict (id) do update set note = excluded.note"  # noqa: S608


def _attempt(app: str, kubectl: Kubectl, host: str, database: str) -> str:
    """Try `select 1` in `database` at `host` with the application's own user and password; psql's output and exit."""
    url = f"postgresql://$DB_USER:$DB_PASSWORD@{host}:5432/{database}?sslmode=require"
    return kubectl.exec(r.NAMESPACE, f"deploy/{app}", "sh", "-c", f'psql "{url}" -tAc "select 1" 2>&1; echo "exit=$?"')


def test_a_shared_instance_with_a_pooler_becomes_ready(kubectl: Kubectl):
    kubectl.apply([r.instance()])
    claim = kubectl.wait_condition(INSTANCE_CLAIM, r.INSTANCE, "Ready", namespace=r.NAMESPACE)
    status = claim["status"]
    assert status["cluster"] == SHARED["cluster"] and status["host"] == SHARED["host"], status
    assert status["poolerHost"] == SHARED["pooler_host"] and status["poolerMode"] == "transaction", status
    # The Pooler's readiness is its creation: PgBouncer's pods are CNPG's Deployment of the Pooler's name.
    kubectl.wait_condition("deployment", SHARED["pooler"], "Available", namespace=r.NAMESPACE)


def test_two_applications_on_the_instance_become_ready(kubectl: Kubectl):
    kubectl.apply([r.shared_application(app) for app in r.SHARED_APPLICATIONS])
    for app in r.SHARED_APPLICATIONS:
        claim = kubectl.wait_condition(APPLICATION_CLAIM, app, "Ready", namespace=r.NAMESPACE)
        database = claim["status"]["database"]
        assert database["instance"] == r.INSTANCE and database["cluster"] == SHARED["cluster"], database
        assert database["host"] == SHARED["host"] and database["poolerHost"] == SHARED["pooler_host"], database
        assert database["secretName"] == _own(app)["secret"], database
    # No cluster of their own: both databases are CNPG Databases on the instance's cluster.
    for app in r.SHARED_APPLICATIONS:
        assert not kubectl.exists("cluster.postgresql.cnpg.io", _own(app)["cluster"], r.NAMESPACE)
        db = kubectl.get("database.postgresql.cnpg.io", names.on_cluster(SHARED["cluster"], _own(app)["database"]),
                         r.NAMESPACE)  # fmt: skip
        assert db is not None and db["spec"]["cluster"]["name"] == SHARED["cluster"], db


def test_each_application_reaches_its_own_database(kubectl: Kubectl):
    for app in r.SHARED_APPLICATIONS:
        own = _own(app)
        who = _psql_in(app, kubectl, "select current_database() || ' ' || current_user").strip()
        assert who == f"{own['database']} {own['owner']}", who
        _psql_in(app, kubectl, "create table if not exists e2e_rows (id int primary key, note text not null)")
        _psql_in(app, kubectl, _upsert(1, f"{app} {ROW}"))
        assert _psql_in(app, kubectl, "select note from e2e_rows where id = 1").strip() == f"{app} {ROW}"


def test_each_application_is_turned_away_from_the_other_database(kubectl: Kubectl):
    """pg_hba opens each database to its owner only, once the instance has listed both (its next reconcile)."""
    wanted = {_own(app)["database"] for app in r.SHARED_APPLICATIONS}

    def listed() -> str | None:
        claim = kubectl.get(INSTANCE_CLAIM, r.INSTANCE, r.NAMESPACE) or {}
        found = {d.get("name") for d in (claim.get("status") or {}).get("databases") or []}
        return None if wanted <= found else f"status.databases lists {sorted(found)}"

    kubectl.wait_for(f"PostgresInstance {r.INSTANCE} to list {sorted(wanted)}", listed)
    cluster = kubectl.get("cluster.postgresql.cnpg.io", SHARED["cluster"], r.NAMESPACE) or {}
    hba = cluster["spec"]["postgresql"]["pg_hba"]
    for app in r.SHARED_APPLICATIONS:
        own = _own(app)
        assert f"host {own['database']} {own['owner']} all scram-sha-256" in hba, hba
        assert f"host {own['database']} all all reject" in hba, hba
    for app, other in ((ONE, TWO), (TWO, ONE)):
        theirs = _own(other)["database"]

        def refused(app: str = app, theirs: str = theirs) -> str | None:
            out = _attempt(app, kubectl, SHARED["host"], theirs)
            # CNPG reloads the changed pg_hba within seconds; until then the catch-all line lets the role in.
            return None if "pg_hba.conf rejects connection" in out and "exit=0" not in out else out.strip()

        kubectl.wait_for(f"{app} to be refused by {theirs}", refused)
        # Its own database still takes it.
        assert "exit=0" in _attempt(app, kubectl, SHARED["host"], _own(app)["database"])


def test_the_pooler_url_reaches_the_database(kubectl: Kubectl):
    for app in r.SHARED_APPLICATIONS:
        own = _own(app)
        # The URL after the password: the pooler's host and the application's database, TLS required.
        tail = kubectl.exec(r.NAMESPACE, f"deploy/{app}", "sh", "-c", 'echo "${DATABASE_POOLER_URL#*@}"').strip()
        assert tail == f"{SHARED['pooler_host']}:5432/{own['database']}?sslmode=require", tail
        pooled = "$DATABASE_POOLER_URL"
        who = _psql_in(app, kubectl, "select current_database() || ' ' || current_user", pooled).strip()
        assert who == f"{own['database']} {own['owner']}", who
        # The row written directly reads back through PgBouncer, and a write through it reads back directly.
        assert _psql_in(app, kubectl, "select note from e2e_rows where id = 1", pooled).strip() == f"{app} {ROW}"
        _psql_in(app, kubectl, _upsert(2, f"{app} pooled"), pooled)
        assert _psql_in(app, kubectl, "select note from e2e_rows where id = 2").strip() == f"{app} pooled"
    # Through the pooler too, the other application's database turns the role away: PgBouncer logs in to
    # PostgreSQL as the client's role, and pg_hba refuses it there (PgBouncer words the error its own way).
    out = _attempt(ONE, kubectl, SHARED["pooler_host"], _own(TWO)["database"])
    assert "exit=0" not in out, out


# ---------------------------------------------------------------------------------------------------------------
# Logical dumps (issue #9, docs/POSTGRES_USAGE.md "Logical dumps on the NFS server"): a database with dumps on,
# rows written, a dump run now; a new claim filled from it with restore.dump, and the same rows in it. The
# platform's public key is a throwaway pair made here with gpg (as tests/test_dump_scripts.py does): its public
# half goes into the suite's Composition input, its private half into the Secret the restore names.

DATABASE_CLAIM = f"postgresdatabase.{definitions.GROUP}"
DUMPED = r.database_names(r.DUMPED)
DUMP_RUN = "e2e-dump-now"
# The rows: ids, notes and a uuid-ossp default (the extension must be there before the restore writes them).
DUMP_TABLE = (
    "create table if not exists e2e_dump_rows "
    "(id int primary key, note text not null, token uuid not null default uuid_generate_v4())"
)
# ROW is made of letters, digits and spaces only: nothing in it can end the SQL string.
DUMP_ROWS = (
    f"insert into e2e_dump_rows (id, note) select g, 'row ' || g || ' {ROW}' from generate_series(1, 1000) g "  # noqa: S608
    "on conflict (id) do update set note = excluded.note"
)
DUMP_CHECKSUM = (
    "select count(*) || ' ' || md5(string_agg(id || ':' || note || ':' || token, ',' order by id)) from e2e_dump_rows"
)


@pytest.fixture(scope="module")
def dump_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[postgres.KeyPair]:
    """A throwaway OpenPGP key pair, made with the documented command (tests/support/postgres.py)."""
    work = tmp_path_factory.mktemp("dump-keys")
    keys = postgres.make_key_pair(work / "gnupg", work / "keys")
    yield keys
    postgres.stop_agent(work / "gnupg")


def _needs_dump_storage(kubectl: Kubectl) -> None:
    """Skip with what is missing when the cluster has no ReadWriteMany StorageClass for the dump volumes."""
    if not kubectl.exists("storageclass", r.DUMP_STORAGE_CLASS):
        pytest.skip(
            f"no StorageClass {r.DUMP_STORAGE_CLASS}: logical dumps need a ReadWriteMany class (csi-driver-nfs; make "
            "e2e-kind installs one from tests/e2e/manifests/nfs*.yaml, elsewhere set TAU_E2E_DUMP_STORAGE_CLASS)"
        )


def _on_primary(kubectl: Kubectl, cluster: str, database: str, role: str, *sql: str) -> str:
    """Run SQL on a cluster's primary over the local socket, as `role` (SET ROLE: what it creates, it owns)."""
    commands = [arg for statement in (f"set role {role}", *sql) for arg in ("-c", statement)]
    return kubectl.exec(r.NAMESPACE, _primary(kubectl, cluster), "psql", "-d", database, "-v", "ON_ERROR_STOP=1",
                        "-qtA", *commands, container="postgres")  # fmt: skip


def _job_done(kubectl: Kubectl, name: str) -> str | None:
    """None once the Job is Complete; raises with its logs when it failed; else what it is doing."""
    job = kubectl.get("job", name, r.NAMESPACE) or {}
    conditions = {
        c.get("type"): c for c in (job.get("status") or {}).get("conditions") or [] if c.get("status") == "True"
    }
    if "Complete" in conditions:
        return None
    if "Failed" in conditions:
        logs = kubectl.run("logs", "-n", r.NAMESPACE, f"job/{name}", "--all-containers", "--tail=50", check=False)
        raise ClusterError(f"Job {name} failed ({conditions['Failed'].get('message')}): {logs}")
    return f"status {json.dumps(job.get('status'))}"


def test_a_database_with_logical_dumps_becomes_ready(kubectl: Kubectl, dump_keys: postgres.KeyPair):
    _needs_dump_storage(kubectl)
    # The suite's Compositions again, now with the platform's public key (dumps stay off unless a claim asks).
    kubectl.apply(r.compositions(public_key=dump_keys.public.read_text()))
    kubectl.apply([r.dumped()])
    claim = kubectl.wait_condition(DATABASE_CLAIM, r.DUMPED, "Ready", namespace=r.NAMESPACE)
    volume = names.dump_volume_name(DUMPED["cluster"])
    target = claim["status"]["dumpTarget"]
    assert target == (
        f"PersistentVolumeClaim {volume} (StorageClass {r.DUMP_STORAGE_CLASS}), "
        f"folder {r.NAMESPACE}/{DUMPED['cluster']}"
    ), target

    def bound() -> str | None:
        phase = ((kubectl.get("persistentvolumeclaim", volume, r.NAMESPACE) or {}).get("status") or {}).get("phase")
        return None if phase == "Bound" else f"phase {phase!r}"

    kubectl.wait_for(f"the dump volume {volume} to be bound", bound)
    assert kubectl.exists("cronjob", names.dump_name(DUMPED["cluster"]), r.NAMESPACE)


def test_write_rows_and_dump_them_now(kubectl: Kubectl):
    _needs_dump_storage(kubectl)
    _on_primary(kubectl, DUMPED["cluster"], DUMPED["database"], DUMPED["owner"], DUMP_TABLE, DUMP_ROWS)
    assert _on_primary(kubectl, DUMPED["cluster"], DUMPED["database"], DUMPED["owner"], DUMP_CHECKSUM).startswith(
        "1000 "
    )
    kubectl.delete("job", DUMP_RUN, r.NAMESPACE)  # a run left by an earlier suite (TAU_E2E_KEEP)
    kubectl.run("create", "job", DUMP_RUN, f"--from=cronjob/{names.dump_name(DUMPED['cluster'])}", "-n", r.NAMESPACE)
    kubectl.wait_for(f"the dump Job {DUMP_RUN} to complete", lambda: _job_done(kubectl, DUMP_RUN))
    logs = kubectl.run("logs", "-n", r.NAMESPACE, f"job/{DUMP_RUN}")
    folder = f"/{r.NAMESPACE}/{DUMPED['cluster']}/{DUMPED['database']}-"
    assert "tau-dump: wrote " in logs and folder in logs and ".dump.gz.gpg" in logs, logs


def test_restore_the_dump_into_a_new_database_with_the_same_rows(kubectl: Kubectl, dump_keys: postgres.KeyPair):
    _needs_dump_storage(kubectl)
    kubectl.apply([r.dump_key_secret(dump_keys.private.read_text())])
    kubectl.apply([r.dump_restored()])

    def restored() -> str | None:
        claim = kubectl.get(DATABASE_CLAIM, r.DUMP_RESTORED, r.NAMESPACE) or {}
        status = claim.get("status") or {}
        phase = status.get("dumpRestore")
        if phase == "Failed":
            raise ClusterError(f"restore.dump failed: {json.dumps(status.get('conditions'))}")
        return None if phase == "Restored" else f"dumpRestore {phase!r}"

    kubectl.wait_for(f"PostgresDatabase {r.DUMP_RESTORED} to be restored from the dump", restored)
    kubectl.wait_condition(DATABASE_CLAIM, r.DUMP_RESTORED, "Ready", namespace=r.NAMESPACE)
    target = r.database_names(r.DUMP_RESTORED)["cluster"]
    source = _on_primary(kubectl, DUMPED["cluster"], DUMPED["database"], DUMPED["owner"], DUMP_CHECKSUM)
    copied = _on_primary(kubectl, target, DUMPED["database"], DUMPED["owner"], DUMP_CHECKSUM)
    assert copied.strip() == source.strip() and source.startswith("1000 "), (source, copied)
    # The claim's owner owns what the restore wrote (restore.sh: --no-owner, as the owner).
    owner = _on_primary(kubectl, target, DUMPED["database"], DUMPED["owner"],
                        "select tableowner from pg_tables where tablename = 'e2e_dump_rows'")  # fmt: skip
    assert owner.strip() == DUMPED["owner"], owner
    # The Job is done, and so is the key's business on the cluster (the usage guide: delete the Secret).
    kubectl.delete("secret", r.DUMP_KEY_SECRET, r.NAMESPACE)


# ---------------------------------------------------------------------------------------------------------------
# A failing WAL archive shows on the claim (issue #10, item 2; docs/POSTGRES_USAGE.md "When backups fail"):
# CNPG's ContinuousArchiving condition, False, becomes the claim's BackupReady False/ArchivingFailing with CNPG's
# message (function/postgres/status.py `_failures`). The store is the suite's MinIO, the keys ones it refuses.


def _switch_wal(kubectl: Kubectl, cluster: str) -> None:
    """Close the current WAL segment (after a write), so the archiver tries now rather than at archive_timeout."""
    # No primary yet, or not accepting connections yet: the next poll tries again.
    with contextlib.suppress(ClusterError):
        kubectl.exec(r.NAMESPACE, _primary(kubectl, cluster), "psql", "-qtA", "-c", "select txid_current()",
                     "-c", "select pg_switch_wal()", container="postgres")  # fmt: skip


def test_a_failing_wal_archive_shows_on_the_claim(kubectl: Kubectl):
    if not kubectl.exists("deployment", "minio", "tau-e2e-minio"):
        pytest.skip("no object store: the suite's MinIO (tests/e2e/manifests/minio.yaml) is not installed")
    kubectl.apply([r.wrong_keys(), r.wrong_keys_composition()])
    kubectl.apply([r.archive_fails()])
    cluster = r.database_names(r.ARCHIVE_FAILS)["cluster"]
    found: dict = {}

    def failing() -> str | None:
        claim = kubectl.get(DATABASE_CLAIM, r.ARCHIVE_FAILS, r.NAMESPACE) or {}
        conditions = (claim.get("status") or {}).get("conditions") or []
        backup = next((c for c in conditions if c.get("type") == "BackupReady"), {})
        if backup.get("reason") == "ArchivingFailing":
            found.update(backup)
            return None
        _switch_wal(kubectl, cluster)
        return f"BackupReady {json.dumps(backup)}"

    kubectl.wait_for(f"PostgresDatabase {r.ARCHIVE_FAILS} to show the failing WAL archive", failing)
    assert found["status"] == "False", found
    # CNPG's own message, in the claim's words around it.
    assert found["message"].startswith("WAL archiving is failing (") and "no reason given" not in found["message"], (
        found
    )
    cnpg = kubectl.get("cluster.postgresql.cnpg.io", cluster, r.NAMESPACE) or {}
    archiving = next(c for c in cnpg["status"]["conditions"] if c["type"] == "ContinuousArchiving")
    assert archiving["status"] == "False", archiving


def test_clean_up(kubectl: Kubectl):
    """What Retain left behind goes with the suite's namespaces (TAU_E2E_KEEP=1 keeps them)."""
    if os.environ.get("TAU_E2E_KEEP"):
        pytest.skip("TAU_E2E_KEEP is set: the suite's namespaces are kept")
    for namespace in (r.NAMESPACE, "tau-e2e-minio"):
        kubectl.delete("namespace", namespace)
