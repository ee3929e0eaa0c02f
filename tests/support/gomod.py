"""Upstream files beside the pinned CRDs of tests/support/upstream.py, taken from Go modules.

Some schemas the tests need are published inside Go modules: Crossplane 1.20's
CRDs (github.com/crossplane/crossplane, cluster/crds) and the CSI snapshot CRDs
(github.com/kubernetes-csi/external-snapshotter/client/v8, config/crd).
`go mod download` fetches a module, byte for byte as tagged and checksummed by
the Go checksum database, into the module cache; nothing is copied into the repo.
"""

from __future__ import annotations

import functools
import json
import os
import pathlib
import shutil
import subprocess

import pytest

CROSSPLANE_1_20 = "github.com/crossplane/crossplane@v1.20.11"
SNAPSHOTTER = "github.com/kubernetes-csi/external-snapshotter/client/v8@v8.7.0"


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
