"""What the install must allow, derived from the code: every code path that
produces a manifest is run, and what it composes and reads is collected.

The paths: every example (with its platform input and required resources),
and the cases the examples do not reach (each backup method, a TauApplication
with a Service, an Ingress and a database, a CNPGOperator with everything on),
each converged to steady state with every intermediate reconcile kept.
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib
from collections.abc import Callable

import yaml
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import render, simulate
from tests.support import function as f
from tests.support.data import OBJECT_STORE_INPUT, S3_SECRET
from tests.support.examples import all_examples
from tests.support.paths import EXAMPLES

INSTALL = EXAMPLES / "install"
CERT_MANAGER_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "certificates.cert-manager.io"},
}
SNAPSHOT_BACKUP = {
    "apiVersion": "postgresql.cnpg.io/v1",
    "kind": "Backup",
    "metadata": {"name": "shop-backup", "namespace": "shop"},
    "spec": {"cluster": {"name": "postgres-shop"}, "method": "volumeSnapshot"},
    "status": {"phase": "completed", "method": "volumeSnapshot",
               "snapshotBackupStatus": {"elements": [{"name": "shop-backup", "type": "PG_DATA"}]}},
}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Path:
    """One code path: a claim (or composite), what Crossplane can fetch for it, and the platform input."""

    name: str
    claim: dict
    available: tuple[dict, ...] = ()
    function_input: dict | None = None


def _claim(kind: str, spec: dict, name: str = "shop") -> dict:
    return f.claim(kind, spec, name=name, namespace="shop")


def paths() -> list[Path]:
    """Every example, and the code paths the examples do not reach."""
    out = [Path(e.name, e.claim, tuple(e.required), e.function_input) for e in all_examples()]
    store = (S3_SECRET,)
    for method in ("volumeSnapshot", "objectStore", "none"):
        spec = {"backup": {"method": method}}
        out.append(Path(f"postgres-{method}", _claim("PostgresDatabase", spec), store, OBJECT_STORE_INPUT))
        app = {"image": "nginx:1.27", "port": 8080, "database": {"enabled": True, "backup": {"method": method}},
               "ingress": {"host": "shop.home.arpa", "tls": {"clusterIssuer": "letsencrypt"}}}  # fmt: skip
        out.append(Path(f"application-{method}", _claim("TauApplication", app), store, OBJECT_STORE_INPUT))
    restore = {"restore": {"backupName": "shop-backup"}}
    out.append(Path("postgres-restore", _claim("PostgresDatabase", restore, "restored"), (SNAPSHOT_BACKUP,)))
    dump = {"restore": {"dump": {"file": "latest", "privateKeySecret": "shop-backup-key"}}}
    out.append(Path("postgres-restore-dump", _claim("PostgresDatabase", dump, "from-dump")))
    operator = {
        "apiVersion": "tau.home.arpa/v1alpha1",
        "kind": "CNPGOperator",
        "metadata": {"name": "cnpg"},
        "spec": {"barmanCloudPlugin": {"enabled": True}, "volumeSnapshotClass": {"create": True},
                 "monitoring": {"podMonitor": True, "grafanaDashboard": True},
                 "dumpStorageClass": {"create": True, "server": "nas.home.arpa"}},
    }  # fmt: skip
    out.append(Path("operator-everything", operator, (CERT_MANAGER_CRD,)))
    return out


@dataclasses.dataclass(frozen=True)
class Trace:
    """What the function composed and asked Crossplane for, over every reconcile of every path."""

    composed: tuple[dict, ...]  # the desired composed resources (Objects, Releases)
    requirements: tuple[fnv1.ResourceSelector, ...]

    @property
    def inside_objects(self) -> list[dict]:
        """The manifests provider-kubernetes applies."""
        return [c["spec"]["forProvider"]["manifest"] for c in self.composed if c["kind"] == "Object"]


def run_paths(
    shape: Callable[[dict], dict] = lambda xr: xr,
    shape_available: Callable[[tuple[dict, ...]], list[dict] | tuple[dict, ...]] = lambda docs: docs,
) -> tuple[tuple[dict, ...], tuple, tuple]:
    """Run every path, as a composite of `shape`, to steady state.

    `shape_available` gives what Crossplane can fetch in that shape (a required
    composite, such as the PostgresInstance a database names, in the same shape).
    Returns every composed resource, and the requirements stated in the 2.x field and in
    the 1.20 field (`extra_resources`) on the way.
    """
    composed: list[dict] = []
    required: list[fnv1.ResourceSelector] = []
    extra: list[fnv1.ResourceSelector] = []
    for path in paths():
        xr = shape(simulate.to_composite(path.claim))
        responses = f.trace(xr, shape_available(path.available), path.function_input)
        for rsp in responses:
            assert f.fatal(rsp) is None, f"{path.name}: {f.fatal(rsp)}"
            composed.extend(
                render.integral(resource.struct_to_dict(r.resource)) for r in rsp.desired.resources.values()
            )
            required.extend(rsp.requirements.resources.values())
            extra.extend(rsp.requirements.extra_resources.values())
        assert responses[-1].desired.composite.ready == fnv1.READY_TRUE, f"{path.name} did not converge"
    return tuple(composed), tuple(required), tuple(extra)


@functools.cache
def trace() -> Trace:
    """Run every path to steady state; collect every composed resource and requirement on the way."""
    composed, required, extra = run_paths()
    return Trace(composed, required + extra)


def documents(path: pathlib.Path) -> list[dict]:
    """The YAML documents of a file."""
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def install_files() -> list[pathlib.Path]:
    """The install manifests, in apply order."""
    return sorted(INSTALL.glob("*.yaml"))


def install_documents() -> list[dict]:
    """Every install manifest, in apply order."""
    return [doc for path in install_files() for doc in documents(path)]


def find(docs: list[dict], kind: str, name: str) -> dict:
    """The one document of `kind` named `name`."""
    (doc,) = [d for d in docs if d.get("kind") == kind and d["metadata"]["name"] == name]
    return doc
