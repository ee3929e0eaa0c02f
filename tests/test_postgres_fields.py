"""Every PostgresDatabase field, as whole outputs against reviewed golden files.

Each case is a claim (and sometimes a platform input and required resources),
converged to steady state in-process; the golden file holds every composed
resource, the composite's status and its conditions. Every composed manifest is
also validated against its upstream schema, unknown fields rejected.
UPDATE_GOLDEN=1 rewrites the files; review the diff like code.
"""

from __future__ import annotations

import pytest

from function import keys
from tests.support import function as f
from tests.support import golden, schemas
from tests.support.data import OBJECT_STORE_INPUT, live_secret
from tests.support.data import S3_SECRET as S3
from tests.support.dumps import DUMPS_INPUT, KEY_ONLY_INPUT
from tests.support.function import Case
from tests.support.paths import GOLDEN

SNAPSHOT_BACKUP = {
    "apiVersion": "postgresql.cnpg.io/v1",
    "kind": "Backup",
    "metadata": {"name": "nightly", "namespace": "shop"},
    "spec": {"cluster": {"name": "postgres-shop"}, "method": "volumeSnapshot"},
    "status": {"phase": "completed", "snapshotBackupStatus": {"elements": [{"type": "PG_DATA"}, {"type": "PG_WAL"}]}},
}
PLUGIN_BACKUP = {
    "apiVersion": "postgresql.cnpg.io/v1",
    "kind": "Backup",
    "metadata": {"name": "nightly", "namespace": "shop"},
    "spec": {
        "cluster": {"name": "postgres-shop"},
        "method": "plugin",
        "pluginConfiguration": {"name": "barman-cloud.cloudnative-pg.io"},
    },
    "status": {"phase": "completed", "backupId": "20261126T030002", "stoppedAt": "2026-11-26T03:04:10Z"},
}


def _input(**sections) -> dict:
    return {"apiVersion": "fn.tau.home.arpa/v1alpha1", "kind": "PlatformDefaults", **sections}


CASES = [
    Case("defaults", {}),
    Case("extensions", {"extensions": ["uuid-ossp", "pgcrypto"]}),
    Case("database-and-owner", {"databaseName": "store", "owner": "store_app"}),
    Case("instance-name-and-replicas", {"instance": {"name": "pg-main", "instances": 3}}),
    Case("version-18", {"instance": {"version": 18}}),
    Case("storage", {"instance": {"storage": {"size": "50Gi", "storageClass": "longhorn-ssd"}}}),
    Case("wal-storage", {"instance": {"walStorage": {"size": "4Gi", "storageClass": "longhorn-ssd"}}}),
    Case(
        "resources",
        {
            "instance": {
                "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": 1, "memory": "1Gi"}}
            }
        },
    ),
    Case(
        "parameters",
        {
            "instance": {
                "parameters": {"max_connections": "200", "pg_stat_statements.track": "all", "wal_level": "logical"}
            }
        },
    ),
    Case("backup-schedule-and-retention", {"backup": {"schedule": "0 30 1 * * 0", "retentionDays": 30}}),
    Case("backup-none", {"backup": {"method": "none"}}),
    Case("backup-disabled", {"backup": {"enabled": False}}),
    Case(
        "backup-object-store",
        {"backup": {"method": "objectStore", "retentionDays": 14}},
        function_input=OBJECT_STORE_INPUT,
        required={"postgres-object-store-admin-credentials": [S3]},
    ),
    Case(
        "object-store-without-encryption",
        {"backup": {"method": "objectStore"}},
        function_input=_input(
            backup={
                "objectStore": {
                    **OBJECT_STORE_INPUT["backup"]["objectStore"],
                    "encryption": "none",
                    "compression": "bzip2",
                }
            }
        ),
        required={"postgres-object-store-admin-credentials": [S3]},
    ),
    Case(
        "restore-snapshot",
        {"databaseName": "shop", "instance": {"walStorage": {"size": "2Gi"}}, "restore": {"backupName": "nightly"}},
        claim_name="shop-restored",
        required={keys.RESTORE_BACKUP: [SNAPSHOT_BACKUP]},
    ),
    Case(
        "restore-point-in-time",
        {
            "databaseName": "shop",
            "backup": {"method": "objectStore"},
            "restore": {"backupName": "nightly", "pointInTime": "2026-11-26T10:30:00+01:00"},
        },
        claim_name="shop-restored",
        function_input=OBJECT_STORE_INPUT,
        required={keys.RESTORE_BACKUP: [PLUGIN_BACKUP], "postgres-object-store-admin-credentials": [S3]},
    ),
    Case("credentials-secret-name", {"credentialsSecretName": "shop-db"}),
    Case("credentials-rotation", {"credentials": {"rotation": 2}}),
    # A password brought in an ordinary Secret (`kubectl create secret generic`): adopted, and kept Opaque
    # (a Secret's type cannot change; CNPG reads the username and password keys of either type).
    Case(
        "credentials-opaque-secret",
        {},
        required={keys.LIVE_SECRET: [live_secret("brought-my-own-1", secret_type="Opaque")]},
    ),
    Case("deletion-policy-delete", {"deletionPolicy": "Delete"}),
    Case("claim-name-with-dashes", {}, claim_name="web-shop-eu"),
    Case(
        "platform-defaults",
        {},
        function_input=_input(
            postgres={"version": 17, "storageClass": "nvme", "storageSize": "5Gi", "instances": 2},
            backup={
                "schedule": "0 15 2 * * *",
                "retentionDays": 3,
                "volumeSnapshot": {"className": "longhorn-snap"},
                "pruneImage": "registry.home.arpa/tools/kubectl:1.34",
                "nfs": {"server": "nas.home.arpa", "path": "/volume1/backups/postgres"},
            },
        ),
    ),
    Case(
        "claim-overrides-platform",
        {"instance": {"version": 16, "storage": {"size": "1Gi"}}, "backup": {"retentionDays": 1}},
        function_input=_input(postgres={"version": 17, "storageSize": "5Gi"}, backup={"retentionDays": 3}),
    ),
    # Issue 10: backups and restores that hold on a real cluster.
    Case("extensions-of-the-standard-image", {"extensions": ["vector", "citext", "pg_stat_statements"]}),
    Case(
        "extensions-of-a-custom-image",
        {"extensions": ["postgis", "pgcrypto"]},
        function_input=_input(
            postgres={"imageRepository": "registry.home.arpa/postgis", "allowedExtensions": ["postgis", "pgcrypto"]}
        ),
    ),
    Case(
        "platform-resources",
        {},
        function_input=_input(
            postgres={"resources": {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}}
        ),
    ),
    Case(
        "backup-object-store-disabled",
        {"backup": {"method": "objectStore", "enabled": False}},
        function_input=OBJECT_STORE_INPUT,
        required={"postgres-object-store-admin-credentials": [S3]},
    ),
    Case("deletion-policy-delete-with-backups", {"deletionPolicy": "Delete", "backup": {"deleteWithClaim": True}}),
    Case(
        "wal-storage-object-store",
        {"instance": {"walStorage": {"size": "4Gi"}}, "backup": {"method": "objectStore"}},
        function_input=OBJECT_STORE_INPUT,
        required={"postgres-object-store-admin-credentials": [S3]},
    ),
    Case(
        "restore-object-store",
        {"databaseName": "shop", "backup": {"method": "objectStore"}, "restore": {"backupName": "nightly"}},
        claim_name="shop-restored",
        function_input=OBJECT_STORE_INPUT,
        required={keys.RESTORE_BACKUP: [PLUGIN_BACKUP], "postgres-object-store-admin-credentials": [S3]},
    ),
    Case(
        "restore-snapshot-of-postgresql-16",
        {"databaseName": "shop", "restore": {"backupName": "nightly"}},
        claim_name="shop-restored",
        required={
            keys.RESTORE_BACKUP: [
                {
                    **SNAPSHOT_BACKUP,
                    "status": {
                        "phase": "completed",
                        "majorVersion": 16,
                        "snapshotBackupStatus": {"elements": [{"name": "nightly", "type": "PG_DATA"}]},
                    },
                }
            ]
        },
    ),
    # Issue 9: logical dumps on the NFS server.
    Case("dumps-platform-default", {}, function_input=DUMPS_INPUT),
    Case(
        "dumps-schedule-and-retention",
        {
            "backup": {
                "schedule": "0 0 1 * * *",
                "retentionDays": 3,
                "dump": {"schedule": "0 30 2 * * 0", "retentionDays": 30},
            }
        },
        function_input=DUMPS_INPUT,
    ),
    Case(
        "dumps-from-backup-schedule",
        {"backup": {"schedule": "0 15 4 * * *", "retentionDays": 10, "dump": {"enabled": True}}},
        function_input=KEY_ONLY_INPUT,
    ),
    Case("dumps-only", {"backup": {"method": "none", "dump": {"enabled": True}}}, function_input=KEY_ONLY_INPUT),
    Case("dumps-claim-opts-out", {"backup": {"dump": {"enabled": False}}}, function_input=DUMPS_INPUT),
    Case(
        "restore-dump-latest",
        {
            "databaseName": "shop",
            "extensions": ["pgcrypto"],
            "restore": {"dump": {"file": "latest", "privateKeySecret": "shop-backup-key"}},
        },
        claim_name="shop-restored",
    ),
    Case(
        "restore-dump-file-of-another-cluster",
        {
            "databaseName": "shop",
            "backup": {"dump": {"enabled": True}},
            "restore": {
                "dump": {
                    "file": "shop-20261126T030002Z.dump.gz.gpg",
                    "cluster": "postgres-shop",
                    "privateKeySecret": "shop-backup-key",
                }
            },
        },
        claim_name="shop-restored",
        function_input=KEY_ONLY_INPUT,
    ),
    Case(
        "dumps-platform-image-and-user",
        {"backup": {"dump": {"enabled": True, "schedule": "@daily"}}},
        function_input={
            **KEY_ONLY_INPUT,
            "dumps": {
                **KEY_ONLY_INPUT["dumps"],
                "storageClass": "nas-backups",
                "image": "registry.home.arpa/tools/pgdump:18",
                "runAsUser": 1000,
            },
        },
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_field(case: Case):
    rsp = f.steady(f.composite("PostgresDatabase", case.spec, name=case.claim_name), case)
    for body in f.desired(rsp).values():
        schemas.validate_composed(body)
    golden.check_steady(
        GOLDEN / "postgres" / f"{case.name}.yaml",
        rsp,
        f"# PostgresDatabase {case.claim_name} with spec {case.spec}, converged. Passwords masked.\n",
    )
