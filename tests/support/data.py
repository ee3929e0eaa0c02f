"""Platform inputs and resources several tests share."""

from __future__ import annotations

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

# The admin's object store keys that OBJECT_STORE_INPUT names.
S3_SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "minio", "namespace": "crossplane-system"},
    "data": {"ACCESS_KEY_ID": "a2V5", "ACCESS_SECRET_KEY": "c2VjcmV0"},
}
