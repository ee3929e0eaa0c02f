"""The upstream CRDs the tests validate against: pinned, checksummed, cached in .tools/crds.

The upstream projects publish their CRDs inside their Go modules, byte for byte
as committed at the release tag, and `go mod download` fetches a module through
the Go module proxy and checks it against the Go checksum database. On top of
that, every file we use is pinned here by its sha256: a file that differs from
the pin is refused, whatever the proxy served. The files land in
`.tools/crds/<project>/` (ignored by git), one folder per project, and a second
run with every file present and matching does not touch the network.

    python -m tests.support.upstream [DEST]    (default: .tools/crds)

Versions (the project's targets, SPEC §2):
- CloudNativePG v1.30.0 (`config/crd/bases`) and plugin-barman-cloud v0.14.0
  (its ObjectStore CRD), into `cnpg/`.
- Crossplane v2.3.4 (`cluster/crds`, the kinds the install and the packages
  use), into `crossplane/`. Crossplane 1.20.11's CRDs come from its own module
  (tests/support/gomod.py), for the install checks against 1.20.
- provider-kubernetes v1.2.1 (`package/crds`), into `provider-kubernetes/`.
- provider-helm: the project targets v1.4.0, but the Go module proxy serves no
  zip of provider-helm v1.4.0 (it answers 403 "This module version is not
  available"; v1.3.0 is served). v1.4.0's CRDs only add fields to v1.3.0's
  (`spec.forProvider.ssaForceConflicts`, `status.lastHandledReconcileAt`, one
  more credentials source enum value), so validating against v1.3.0 is the
  stricter check: a Release valid for v1.3.0 is valid for v1.4.0.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_DEST = REPO / ".tools" / "crds"


class UpstreamError(RuntimeError):
    """An upstream file could not be obtained, or differs from its pin."""


@dataclasses.dataclass(frozen=True)
class Source:
    """Files of one Go module at one version, pinned by sha256, for one folder under DEST."""

    folder: str
    module: str
    version: str
    subdir: str
    files: dict[str, str]


SOURCES: tuple[Source, ...] = (
    Source(
        "cnpg",
        "github.com/cloudnative-pg/cloudnative-pg",
        "v1.30.0",
        "config/crd/bases",
        {
            "postgresql.cnpg.io_backups.yaml": "694bafce2eda4603629657c2141a89189c15250c74215002a6987538d3d78ff5",
            "postgresql.cnpg.io_clusterimagecatalogs.yaml": "a409d4e9418110672d14c263793d0458dd328f794caac668671c08c257e762ae",
            "postgresql.cnpg.io_clusters.yaml": "ae47f4a00f6e998faef57e480f9a3960cd48ea16a79270861fc7442601507472",
            "postgresql.cnpg.io_databaseroles.yaml": "bbe900fb057c5ea29bb3f41537b941eee80f528f22733e54a5b2704c4bd9516d",
            "postgresql.cnpg.io_databases.yaml": "53f7dfca6d23eb70246f41f1e7db596f8782341cd4fffb6ad990107cc8a588e7",
            "postgresql.cnpg.io_failoverquorums.yaml": "c97e5376830385bf47f2d669269e40812ae9251668dbf630d25f94361a82413f",
            "postgresql.cnpg.io_imagecatalogs.yaml": "dce0b11005f65a4728144c155a78183169eeb63d42c57b6af6270b4fbdf2b8aa",
            "postgresql.cnpg.io_poolers.yaml": "9e0dad05355f72dceb154a12b43ebe8a410d470133ad228bf711c1fdee221124",
            "postgresql.cnpg.io_publications.yaml": "481121c9f7232402726364a7331f8684ce540c45805574e20a11b6dfb36fd2df",
            "postgresql.cnpg.io_scheduledbackups.yaml": "1dffb969a92ed6b09abe59d9c848ff97c6646c7824e75f8e0b8379df8473a145",
            "postgresql.cnpg.io_subscriptions.yaml": "d6ed0223df8a7898ff10b9ca6c2d2543144cade69f351adaff349da6b97458f5",
        },
    ),
    Source(
        "cnpg",
        "github.com/cloudnative-pg/plugin-barman-cloud",
        "v0.14.0",
        "config/crd/bases",
        {
            "barmancloud.cnpg.io_objectstores.yaml": "7c98720494253421339acd03aa77487869326ea20d4768a0c3aef8ff076daaef",
        },
    ),
    Source(
        "crossplane",
        "github.com/crossplane/crossplane/v2",
        "v2.3.4",
        "cluster/crds",
        {
            "apiextensions.crossplane.io_compositeresourcedefinitions.yaml": "fd430e433e202905c4eaa3321857788c8680d0351269ecf8d24593aa58af68aa",
            "apiextensions.crossplane.io_compositionrevisions.yaml": "34228ec5d6f81a331ae64f5964a2ba25f979f455961ca249fa843329e933666f",
            "apiextensions.crossplane.io_compositions.yaml": "13951a1af3ca5afa49c7fb9ddde423f59dc172026bcb8131b62e3e402c3fa309",
            "apiextensions.crossplane.io_environmentconfigs.yaml": "e7195819ad029752668bba52546aa141ad257495a8ab0c7149df0e8561079aff",
            "apiextensions.crossplane.io_managedresourceactivationpolicies.yaml": "9d74cc005d0e8158d96d18f3499d6f6733e4852d47706b083ba688a486a2c5ea",
            "apiextensions.crossplane.io_managedresourcedefinitions.yaml": "32e7a85fa99890e7b76821f59e473650721f89fa7aaef8e7d39c3071c49a31ac",
            "apiextensions.crossplane.io_usages.yaml": "851f24f57d559c255358d8d31d768f8ef8248281e1cee95b182294e5912d1400",
            "pkg.crossplane.io_configurations.yaml": "b464d309cda7880faa18bb18488bc0a1449b92b438d081ae1817929e0f02b572",
            "pkg.crossplane.io_deploymentruntimeconfigs.yaml": "039fb9ab97777bb40ced2a6071e1a4bb4764023b720f2912aee8e84cda202087",
            "pkg.crossplane.io_functions.yaml": "fa8d48b538450a6e37b9cbabd7fdb069157a07c43790f1cbe393e1407fc5c83e",
            "pkg.crossplane.io_providers.yaml": "8530bffdda934641f0afb5de600fdb0561155bf008a0ace36d7e530a948521d0",
            "protection.crossplane.io_clusterusages.yaml": "721f00cd3ec294b1d75c41a379cae61dee14cf614f0ecbe4b0329193f796be44",
            "protection.crossplane.io_usages.yaml": "23fc67d87deaf87b6a2a869334544ee94840917370a3dc55b390778d341fc855",
        },
    ),
    Source(
        "provider-kubernetes",
        "github.com/crossplane-contrib/provider-kubernetes",
        "v1.2.1",
        "package/crds",
        {
            "kubernetes.crossplane.io_objects.yaml": "3e2397e4b78012726272685b7c950f80a76315a565dfbfaca00a18e6604c3bc9",
            "kubernetes.crossplane.io_observedobjectcollections.yaml": "dec64856576d8fe05b50259c68df565114c8825cdcb9209eb043f55a377a978c",
            "kubernetes.crossplane.io_providerconfigs.yaml": "39737aba963a533f8de8321847145fa9a6e4a31093c21b7e109104ca16314ab5",
            "kubernetes.crossplane.io_providerconfigusages.yaml": "3fd0dfb2d005c1053aa849e0d11f5ec4b4881b3bdd72865c634f1245d362bade",
            "kubernetes.m.crossplane.io_clusterproviderconfigs.yaml": "0852f632aa9516cead3aed192d788c8542ac6a3f2df193716500623e3b8f9b03",
            "kubernetes.m.crossplane.io_objects.yaml": "93791ad042a19837a4e781ae1a3bb8260df04adce766fd212cd5e96fd4e3f436",
            "kubernetes.m.crossplane.io_observedobjectcollections.yaml": "a8b392a536e0ca0f8244b0432a70b8a7ac0f0707b18c075d0a7f5f133eb924ba",
            "kubernetes.m.crossplane.io_providerconfigs.yaml": "e02587fad25aecf30654a9b819e72fa099a8a6f856f24560a427bd25cf08a64f",
            "kubernetes.m.crossplane.io_providerconfigusages.yaml": "13b543d6280f3e3e72fb90890a6a57af54017250c5cf66fb18a21f2e7731cf28",
        },
    ),
    Source(
        "provider-helm",
        "github.com/crossplane-contrib/provider-helm",
        "v1.3.0",
        "package/crds",
        {
            "helm.crossplane.io_providerconfigs.yaml": "d6787e29c89282726e15829acd009161a3d139b57a93cc8ad829e8bdbd00e680",
            "helm.crossplane.io_providerconfigusages.yaml": "6c1b66f462ad687bed1d9c89f453a8c7c8c14edb5fa828db5fd79efd67693110",
            "helm.crossplane.io_releases.yaml": "bc4b222bbc60fc213432ac5022a5b1defdb3fead6df0c20a610f4d8701b1b5d4",
            "helm.m.crossplane.io_clusterproviderconfigs.yaml": "86f7316d64771dc8459dddc6f99dc8b09f74edbfbde57ce0b47553fc124b0335",
            "helm.m.crossplane.io_providerconfigs.yaml": "38de1f607485eb6c0031abfd9d57ab6f1682838cb4ff1a33e6bf392090d03203",
            "helm.m.crossplane.io_providerconfigusages.yaml": "c0a0dc9cfe3c15070f2287846f4eb98b776848662338f64d7e4bc71ef1746526",
            "helm.m.crossplane.io_releases.yaml": "7d490b389d0df9ce94ae81c1948208cb366405b14b4f1993ca86fad6b6a8284b",
        },
    ),
)


def _sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _download(module: str, version: str) -> pathlib.Path:
    """The module's directory in the Go module cache, downloading it (checked by Go's checksum database)."""
    go = shutil.which("go")
    if go is None:
        raise UpstreamError(
            f"Go is needed to fetch {module}@{version} (the upstream CRDs the tests validate against): install Go 1.25+"
        )
    with tempfile.TemporaryDirectory() as cwd:  # outside any module of ours
        proc = subprocess.run(
            [go, "mod", "download", "-json", f"{module}@{version}"],
            capture_output=True, text=True, timeout=900, check=False, cwd=cwd,
            env={**os.environ, "GOFLAGS": "-mod=mod"},
        )  # fmt: skip
    try:
        info = json.loads(proc.stdout)
    except json.JSONDecodeError:
        info = {}
    if proc.returncode != 0 or "Dir" not in info:
        reason = info.get("Error") or proc.stderr.strip() or f"exit {proc.returncode}"
        raise UpstreamError(f"go mod download {module}@{version} failed: {reason}")
    return pathlib.Path(info["Dir"])


def _present(dest: pathlib.Path, source: Source) -> bool:
    return all(
        (dest / source.folder / name).is_file() and _sha256(dest / source.folder / name) == digest
        for name, digest in source.files.items()
    )


def _install(dest: pathlib.Path, source: Source) -> None:
    directory = _download(source.module, source.version) / source.subdir
    folder = dest / source.folder
    folder.mkdir(parents=True, exist_ok=True)
    for name, digest in source.files.items():
        origin = directory / name
        if not origin.is_file():
            raise UpstreamError(f"{source.module}@{source.version} has no {source.subdir}/{name}")
        if (actual := _sha256(origin)) != digest:
            raise UpstreamError(
                f"{source.module}@{source.version} {source.subdir}/{name}: sha256 {actual}, pinned {digest}; refused"
            )
        target = folder / name
        partial = target.with_suffix(".partial")
        partial.write_bytes(origin.read_bytes())
        partial.chmod(0o644)
        partial.replace(target)


def ensure(dest: pathlib.Path = DEFAULT_DEST) -> pathlib.Path:
    """Make every pinned file present and matching under `dest`; returns `dest`."""
    for source in SOURCES:
        if not _present(dest, source):
            _install(dest, source)
    return dest


def main(argv: list[str]) -> int:
    """Fetch the pinned CRDs into argv[0] (default .tools/crds)."""
    dest = pathlib.Path(argv[0]).resolve() if argv else DEFAULT_DEST
    try:
        ensure(dest)
    except UpstreamError as error:
        print(f"upstream CRDs: {error}", file=sys.stderr)
        return 1
    count = sum(len(s.files) for s in SOURCES)
    print(f"upstream CRDs: {count} files pinned and present in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
