"""Start and stop the local control plane by hand, to poke at it.

    .venv/bin/python -m tests.controlplane.run up      # start it (about a minute); prints how to use it
    .tools/controlplane-run/kubectl get postgresdatabases -A
    .venv/bin/python -m tests.controlplane.run down    # stop it, remove its traces

Everything runs in the network namespace `tau-cp-manual` (loopback only; Crossplane's
RBAC manager in `tau-cp-manual-rbac`, see cluster.py), so
kubectl must run in there too: `.tools/controlplane-run/kubectl` is a wrapper
that does (`ip netns exec tau-cp-manual kubectl --kubeconfig ...`); the admin
kubeconfig is `.tools/controlplane-run/admin.kubeconfig`. Logs are in
`.tools/controlplane-run/logs/`. Needs root (network namespaces) and the
binaries of `make control-plane`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time

from tests.controlplane import cluster
from tests.support.paths import REPO

WORKDIR = REPO / ".tools" / "controlplane-run"
NETNS = "tau-cp-manual"
STATE = WORKDIR / "state.json"


def up(crossplane: str) -> int:
    """Start the control plane in WORKDIR and leave it running."""
    if STATE.exists():
        print(f"already up (state in {STATE}); run `down` first", file=sys.stderr)
        return 1
    missing = cluster.missing_binaries(crossplane)
    if missing:
        print(f"missing in {cluster.BIN}: {', '.join(missing)}; run `make control-plane`", file=sys.stderr)
        return 1
    plane = cluster.ControlPlane(WORKDIR, crossplane=crossplane, netns=NETNS)
    start = time.monotonic()
    plane.start()
    STATE.write_text(json.dumps({
        "netns": NETNS, "netnses": [NETNS, plane.rbac_netns],
        "pids": {name: p.popen.pid for name, p in plane.processes.items()},
    }))  # fmt: skip
    wrapper = WORKDIR / "kubectl"
    wrapper.write_text(
        f'#!/bin/sh\nexec ip netns exec {NETNS} {cluster.BIN / "kubectl"} --kubeconfig {plane.kubeconfig} "$@"\n'
    )
    wrapper.chmod(0o755)
    print(f"local control plane up in {time.monotonic() - start:.0f}s (Crossplane: {crossplane})")
    print(f"  kubectl:    {wrapper} get postgresdatabases -A")
    print(f"  kubeconfig: {plane.kubeconfig} (inside: ip netns exec {NETNS} ...)")
    print(f"  logs:       {WORKDIR / 'logs'}/")
    print("  stop:       .venv/bin/python -m tests.controlplane.run down")
    return 0


def down() -> int:
    """Stop what `up` started (by pid), delete the namespace and the work directory."""
    if not STATE.exists():
        print("not up", file=sys.stderr)
        return 0
    state = json.loads(STATE.read_text())
    for pid in reversed(list(state["pids"].values())):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for pid in state["pids"].values():
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    for netns in state.get("netnses", [state["netns"]]):
        subprocess.run(["ip", "netns", "delete", netns], capture_output=True, check=False)
    subprocess.run(["rm", "-rf", str(WORKDIR)], check=False)
    print("local control plane stopped")
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie of ours would still answer; the process is not our child here, so this is enough.
    return True


def main(argv: list[str] | None = None) -> int:
    """`up` or `down`."""
    parser = argparse.ArgumentParser(prog="python -m tests.controlplane.run", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--crossplane", default="crossplane", choices=["crossplane", "crossplane-1.20"],
                        help="which Crossplane core binary of .tools/controlplane to run")  # fmt: skip
    args = parser.parse_args(argv)
    return up(args.crossplane) if args.command == "up" else down()


if __name__ == "__main__":
    sys.exit(main())
