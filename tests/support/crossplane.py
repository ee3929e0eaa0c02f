"""The real tools: the function served over gRPC, and the Crossplane CLI.

`crossplane render` (crank v2.2.x, the last go-installable CLI) runs the
pipeline in-process and calls functions annotated with the Development runtime
at a gRPC address, so the function under test is served for real on loopback.
`crossplane beta validate` is given only local CRD/XRD files and a pre-seeded
cache so it never reaches for a registry.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator

import grpc
import pytest
import yaml
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1

from tests.support import gomod
from tests.support.paths import CROSSPLANE_CLI, CROSSPLANE_CLI_120, REPO

FUNCTION_NAME = "function-tau"
# crank built with `go install` has no version baked in; validate needs one to name the core CRDs image.
CROSSPLANE_IMAGE_VERSION = "v2.2.1"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def function_command(*args: str) -> list[str]:
    """`function-tau ...` run with this interpreter (no reliance on PATH)."""
    return [sys.executable, "-c", "from function.main import cli; cli()", *args]


@contextlib.contextmanager
def served(*extra: str, port: int | None = None, env: dict | None = None,
           log: pathlib.Path | None = None) -> Iterator[str]:  # fmt: skip
    """Serve the function (`function-tau serve --insecure` unless `extra` says otherwise); yield its address."""
    port = port or free_port()
    address = f"127.0.0.1:{port}"
    args = ["serve", "--address", address, *(extra or ("--insecure",))]
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        function_command(*args), stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"function-tau serve exited with {proc.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("function-tau serve did not start listening within 30s")
        yield address
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log:
            out.close()  # type: ignore[union-attr]


def call(address: str, req: fnv1.RunFunctionRequest, timeout: float = 10) -> fnv1.RunFunctionResponse:
    """RunFunction over a plaintext gRPC channel."""
    with grpc.insecure_channel(address) as channel:
        return grpcv1.FunctionRunnerServiceStub(channel).RunFunction(req, timeout=timeout)


def cli(path: pathlib.Path = CROSSPLANE_CLI) -> pathlib.Path:
    """A Crossplane CLI; skips the test when absent, fails it when CI is set."""
    if path.exists() and os.access(path, os.X_OK):
        return path
    reason = f"the Crossplane CLI is not built at {path} (run `make crossplane-cli`; it needs Go)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def cli_version(path: pathlib.Path = CROSSPLANE_CLI) -> str:
    """The version the install script recorded for a CLI."""
    stamp = path.parent / f"{path.name}.version"
    return stamp.read_text().strip() if stamp.exists() else "unknown"


def functions_file(directory: pathlib.Path, address: str) -> pathlib.Path:
    """The Function for `crossplane render`: Development runtime, served at `address`."""
    path = directory / "functions.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "pkg.crossplane.io/v1",
                "kind": "Function",
                "metadata": {
                    "name": FUNCTION_NAME,
                    "annotations": {
                        "render.crossplane.io/runtime": "Development",
                        "render.crossplane.io/runtime-development-target": address,
                    },
                },
                "spec": {"package": "xpkg.crossplane.io/home-arpa/function-tau:v0.1.0"},
            }
        )
    )
    return path


def _write(directory: pathlib.Path, name: str, docs: Iterable[dict]) -> pathlib.Path:
    path = directory / name
    path.write_text("".join("---\n" + yaml.safe_dump(d, sort_keys=False) for d in docs))
    return path


def render(  # noqa: PLR0913 - one parameter per `crossplane render` flag
    address: str,
    composite: dict,
    composition: pathlib.Path,
    *,
    observed: Iterable[dict] = (),
    required: Iterable[dict] = (),
    results: bool = True,
    crossplane_1_20: bool = False,
    xrd: pathlib.Path | None = None,
) -> tuple[int, list[dict], str]:
    """Run `crossplane render` (the 1.20 CLI with `crossplane_1_20`); returns (exit code, documents, stderr).

    With `xrd`, the CLI applies the XRD's defaults to the composite first (2.x only).
    """
    with tempfile.TemporaryDirectory() as tmp:
        directory = pathlib.Path(tmp)
        args = [
            str(cli(CROSSPLANE_CLI_120 if crossplane_1_20 else CROSSPLANE_CLI)),
            "render",
            str(_write(directory, "xr.yaml", [composite])),
            str(composition),
            str(functions_file(directory, address)),
        ]
        observed, required = list(observed), list(required)
        if observed:
            args += ["--observed-resources", str(_write(directory, "observed.yaml", observed))]
        if required:
            # 1.20 knows only extra resources (and passes them in the request's extra_resources).
            flag = "--extra-resources" if crossplane_1_20 else "--required-resources"
            args += [flag, str(_write(directory, "required.yaml", required))]
        if results:
            args.append("--include-function-results")
        if xrd is not None:
            args += ["--xrd", str(xrd)]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=REPO, check=False)
    return proc.returncode, [d for d in yaml.safe_load_all(proc.stdout) if d], proc.stderr


def validate(extensions: Iterable[pathlib.Path | str], resources: Iterable[pathlib.Path | str]) -> tuple[int, str]:
    """Run `crossplane beta validate` offline; returns (exit code, combined output)."""
    with tempfile.TemporaryDirectory() as cache:
        seeded = pathlib.Path(cache) / "xpkg.crossplane.io" / "crossplane" / f"crossplane@{CROSSPLANE_IMAGE_VERSION}"
        seeded.mkdir(parents=True)
        args = [
            str(cli()),
            "beta",
            "validate",
            "--cache-dir",
            cache,
            f"--crossplane-image=xpkg.crossplane.io/crossplane/crossplane:{CROSSPLANE_IMAGE_VERSION}",
            ",".join(map(str, extensions)),
            ",".join(map(str, resources)),
        ]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=REPO, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def write_documents(directory: pathlib.Path, name: str, docs: Iterable[dict]) -> pathlib.Path:
    """Write YAML documents to a file (for validate)."""
    return _write(directory, name, docs)


def operator_extension_crds(directory: pathlib.Path) -> list[pathlib.Path]:
    """The CRDs of the CNPGOperator's VolumeSnapshotClass and Longhorn Settings, for `validate` (Go module cache)."""
    longhorn = write_documents(directory, "longhorn-settings-crd.yaml", [gomod.longhorn_setting_crd()])
    return [longhorn, gomod.snapshot_class_crd_file()]
