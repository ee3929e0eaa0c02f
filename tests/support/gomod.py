"""Upstream files beside the pinned CRDs of tests/support/upstream.py, taken from Go modules.

Some schemas the tests need are published inside Go modules: Crossplane 1.20's
CRDs (github.com/crossplane/crossplane, cluster/crds) and the CSI snapshot CRDs
(github.com/kubernetes-csi/external-snapshotter/client/v8, config/crd), and Longhorn's
(github.com/longhorn/longhorn-manager: its Setting CRD and the code the settings run).
`go mod download` fetches a module, byte for byte as tagged and checksummed by
the Go checksum database, into the module cache; nothing is copied into the repo.
"""

from __future__ import annotations

import functools
import json
import os
import pathlib
import re
import shutil
import subprocess

import pytest
import yaml

CROSSPLANE_1_20 = "github.com/crossplane/crossplane@v1.20.11"
SNAPSHOTTER = "github.com/kubernetes-csi/external-snapshotter/client/v8@v8.7.0"
# The first Longhorn release with both snapshot clean-up settings CNPGOperator turns on (its CRDs in k8s/crds.yaml).
LONGHORN = "github.com/longhorn/longhorn-manager@v1.9.0"


@functools.cache
def _download(module: str) -> pathlib.Path | None:
    go = shutil.which("go")
    if go is None:
        return None
    proc = subprocess.run(
        [go, "mod", "download", "-json", module],
        capture_output=True, text=True, timeout=600, check=False, env={**os.environ, "GOFLAGS": "-mod=mod"},
    )  # fmt: skip
    if proc.returncode != 0:
        return None
    return pathlib.Path(json.loads(proc.stdout)["Dir"])


def module_file(module: str, path: str) -> pathlib.Path:
    """A file of a Go module; skips the test (fails it with CI set) when Go cannot fetch the module."""
    directory = _download(module)
    if directory is not None and (directory / path).exists():
        return directory / path
    reason = f"{path} of {module} needs `go mod download {module}` (Go and its module proxy)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def longhorn_setting_crd() -> dict:
    """Longhorn's Setting CRD (settings.longhorn.io) from longhorn-manager's k8s/crds.yaml.

    That file is the Longhorn chart's template: its only Helm expressions are the labels line and a
    conversion webhook's namespace (`{{ include ... }}`), removed here (they add nothing to a schema).
    """
    text = re.sub(r"\{\{-? [^}]*\}\}", "", module_file(LONGHORN, "k8s/crds.yaml").read_text())
    (crd,) = [d for d in yaml.safe_load_all(text) if d and d["metadata"]["name"] == "settings.longhorn.io"]
    return crd


def snapshot_class_crd_file() -> pathlib.Path:
    """external-snapshotter v8.7.0's VolumeSnapshotClass CRD (not among the pinned CRDs of tests/support/upstream.py)."""
    return module_file(SNAPSHOTTER, "config/crd/snapshot.storage.k8s.io_volumesnapshotclasses.yaml")
