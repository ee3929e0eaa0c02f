"""Platform inputs and resources several tests share."""

from __future__ import annotations

import base64

OBJECT_STORE_INPUT = {
    "apiVersion": "fn.tau.home.arpa/v1alpha1",
    "kind": "PlatformDefaults",
    "backup": {
        "objectStore": {
            "endpointURL": "http://minio.minio.svc:9000",
            "destinationPath": "s3://postgres-backups",
            "credentials": {"name": "minio", "namespace": "crossplane-system"},
        }
    },
}

# The plan's postgres-example TauApplication (examples/tauapplication-postgres-example), as a spec.
POSTGRES_EXAMPLE = {
    "image": "postgres:15-alpine",
    "command": ["sleep", "3600"],
    "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "100m", "memory": "128Mi"}},
    "database": {"enabled": True, "extensions": ["uuid-ossp", "pgcrypto"]},
}

# The admin's object store keys that OBJECT_STORE_INPUT names.
S3_SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "minio", "namespace": "crossplane-system"},
    "data": {"ACCESS_KEY_ID": "a2V5", "ACCESS_SECRET_KEY": "c2VjcmV0"},
}


def live_secret(
    password: str, name: str = "shop-postgres-credentials", namespace: str = "shop", secret_type: str | None = None
) -> dict:
    """A credentials Secret as it exists in the cluster, handed over to function-tau (labelled).

    `secret_type`: kubernetes.io/basic-auth unless given (`kubectl create secret generic` makes Opaque).
    """
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "function-tau"},
        },
        "type": secret_type or "kubernetes.io/basic-auth",
        "data": {
            "username": base64.b64encode(b"shop_user").decode(),
            "password": base64.b64encode(password.encode()).decode(),
        },
    }
