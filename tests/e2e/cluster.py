"""kubectl against the cluster in KUBECONFIG, with waits that say what they waited for.

Only kubectl is needed (it is what an admin has); every call has a timeout, and
a wait that times out fails with the object's conditions, not just "timed out".
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable

import yaml

TIMEOUT = float(os.environ.get("TAU_E2E_TIMEOUT", "900"))  # seconds for anything to become ready


class ClusterError(AssertionError):
    """kubectl failed, or something did not happen in time."""


def unreachable_reason() -> str | None:
    """Why there is no cluster to run against, or None when there is one."""
    kubeconfig = os.environ.get("KUBECONFIG")
    if not kubeconfig:
        return (
            "no cluster: KUBECONFIG is not set. The end-to-end suite runs only against a cluster it is given "
            "(`make e2e` with KUBECONFIG, or `make e2e-kind`, which creates a kind cluster)"
        )
    if shutil.which("kubectl") is None:
        return "no cluster: kubectl is not installed"
    try:
        proc = subprocess.run(
            ["kubectl", "version", "--request-timeout=10s", "-o", "json"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"no cluster: kubectl could not reach the cluster in KUBECONFIG={kubeconfig} within 30s"
    if proc.returncode != 0 or "serverVersion" not in proc.stdout:
        detail = (proc.stderr.strip().splitlines() or ["no server version"])[-1]
        return f"no cluster: kubectl cannot reach the cluster in KUBECONFIG={kubeconfig}: {detail}"
    return None


@dataclasses.dataclass
class Kubectl:
    """The cluster, through kubectl."""

    log: Callable[[str], None] = print

    def run(self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 120) -> str:
        """Run kubectl; its stdout, or ClusterError with its stderr."""
        proc = subprocess.run(
            ["kubectl", *args], input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and proc.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc.stdout

    def apply(self, docs: Iterable[dict] | pathlib.Path, *, server_side: bool = False) -> None:
        """Apply manifests (a file, or documents)."""
        if isinstance(docs, pathlib.Path):
            self.log(f"apply {docs.name}")
            self.run("apply", "-f", str(docs), *(["--server-side"] if server_side else []))
            return
        docs = list(docs)
        self.log("apply " + ", ".join(f"{d['kind']}/{d['metadata']['name']}" for d in docs))
        text = "".join("---\n" + yaml.safe_dump(d, sort_keys=False) for d in docs)
        self.run("apply", "-f", "-", *(["--server-side"] if server_side else []), stdin=text)

    def get(self, resource: str, name: str, namespace: str | None = None) -> dict | None:
        """An object as a dict, or None when it does not exist."""
        args = ["get", resource, name, "-o", "json", "--ignore-not-found"]
        if namespace:
            args += ["-n", namespace]
        out = self.run(*args)
        return json.loads(out) if out.strip() else None

    def exists(self, resource: str, name: str, namespace: str | None = None) -> bool:
        """Whether an object exists."""
        return self.get(resource, name, namespace) is not None

    def delete(self, resource: str, name: str, namespace: str | None = None, *, wait: bool = True) -> None:
        """Delete an object (no error when it is gone already)."""
        args = ["delete", resource, name, "--ignore-not-found", f"--wait={'true' if wait else 'false'}"]
        if namespace:
            args += ["-n", namespace]
        self.log(f"delete {resource}/{name}")
        self.run(*args, timeout=TIMEOUT)

    def exec(self, namespace: str, target: str, *command: str, container: str | None = None) -> str:
        """Run a command in a pod (or `deploy/<name>`); its stdout."""
        args = ["exec", "-n", namespace, target]
        if container:
            args += ["-c", container]
        return self.run(*args, "--", *command, timeout=300)

    def wait_for(self, what: str, check: Callable[[], str | None], timeout: float = TIMEOUT, every: float = 5) -> None:
        """Poll `check` until it returns None; it returns what is still missing, which the failure shows."""
        self.log(f"waiting for {what}")
        deadline = time.monotonic() + timeout
        missing = check()
        while missing is not None:
            if time.monotonic() > deadline:
                raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}: {missing}")
            time.sleep(every)
            missing = check()

    def wait_condition(self, resource: str, name: str, condition: str = "Ready", namespace: str | None = None,
                       timeout: float = TIMEOUT) -> dict:  # fmt: skip
        """Wait until a condition is True; the object."""
        found: dict = {}

        def check() -> str | None:
            obj = self.get(resource, name, namespace)
            if obj is None:
                return "it does not exist yet"
            found.update(obj)
            conditions = (obj.get("status") or {}).get("conditions") or []
            for cond in conditions:
                if cond.get("type") == condition and cond.get("status") == "True":
                    return None
            return "conditions: " + json.dumps(
                [{k: c.get(k) for k in ("type", "status", "reason", "message")} for c in conditions]
            )

        where = f" in {namespace}" if namespace else ""
        self.wait_for(f"{resource}/{name}{where} to be {condition}", check, timeout)
        return found

    def wait_gone(self, resource: str, name: str, namespace: str | None = None, timeout: float = TIMEOUT) -> None:
        """Wait until an object no longer exists."""
        self.wait_for(
            f"{resource}/{name} to be deleted",
            lambda: None if not self.exists(resource, name, namespace) else "it still exists",
            timeout,
        )

    def has_crd(self, name: str) -> bool:
        """Whether a CRD is installed."""
        return self.exists("customresourcedefinition", name)
