"""The manifests only an instance has: its pooler (its cluster and backups are a PostgresDatabase's own)."""

from __future__ import annotations

from function import names
from function.api.instance import Pooler
from function.postgres.manifests import CNPG_API_VERSION
from function.postgres.plan import DatabasePlan


def pooler_manifest(plan: DatabasePlan, pooler: Pooler) -> dict:
    """The CNPG Pooler: PgBouncer in front of the primary, its Service named like it.

    CNPG authenticates clients with an auth query (its own `cnpg_pooler_pgbouncer` role, by certificate),
    so every database's owner logs in through it with the password it already has.
    """
    parameters = {}
    if pooler.defaultPoolSize is not None:
        parameters["default_pool_size"] = str(pooler.defaultPoolSize)
    if pooler.maxClientConnections is not None:
        parameters["max_client_conn"] = str(pooler.maxClientConnections)
    pgbouncer: dict = {"poolMode": pooler.mode}
    if parameters:
        pgbouncer["parameters"] = parameters
    return {
        "apiVersion": CNPG_API_VERSION,
        "kind": "Pooler",
        "metadata": {
            "name": names.pooler_name(plan.cluster),
            "namespace": plan.namespace,
            "labels": plan.labels("pooler"),
        },
        "spec": {
            "cluster": {"name": plan.cluster},
            "instances": pooler.instances,
            "type": "rw",
            "pgbouncer": pgbouncer,
        },
    }
