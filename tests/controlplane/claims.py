"""Example claims on the local control plane: apply as a user would, let the stand-in play the kubelet, compare.

The comparisons are against `function-tau render` (the CLI, at steady state with
`--assume-ready`) of the same claim, input and required resources.
"""

from __future__ import annotations

import atexit
import copy
import dataclasses
import json
import pathlib
import shutil
import subprocess
import tempfile
import time
from typing import Any

import yaml

from tests.controlplane.cluster import FUNCTION_TAU, ControlPlane, ControlPlaneError
from tests.controlplane.kubelet_standin import CNPGStatusStandIn
from tests.support.paths import EXAMPLES

GROUP = "tau.home.arpa"
PLURALS = {"PostgresDatabase": "postgresdatabases", "TauApplication": "tauapplications",
           "CNPGOperator": "cnpgoperators", "PostgresInstance": "postgresinstances"}  # fmt: skip
OBJECT = "objects.kubernetes.crossplane.io"
# Inner kinds whose status the stand-in writes, and the resource name kubectl knows them by.
STANDIN_KINDS = {"Cluster": "clusters.postgresql.cnpg.io", "Database": "databases.postgresql.cnpg.io",
                 "DatabaseRole": "databaseroles.postgresql.cnpg.io", "Deployment": "deployments.apps"}  # fmt: skip


def resource(kind: str, api_version: str) -> str:
    """The fully qualified resource name kubectl knows a kind by."""
    group = api_version.split("/")[0] if "/" in api_version else ""
    plural = PLURALS.get(kind) or (kind.lower() + ("es" if kind.lower().endswith("s") else "s"))
    if kind == "NetworkPolicy":
        plural = "networkpolicies"
    return f"{plural}.{group}" if group else plural


@dataclasses.dataclass
class Example:
    """An example directory: claim.yaml, and input.yaml / required.yaml when it has them."""

    directory: pathlib.Path

    @property
    def name(self) -> str:
        """The directory's name."""
        return self.directory.name

    @property
    def claim(self) -> dict:
        """The claim (or cluster-scoped composite) document."""
        return yaml.safe_load((self.directory / "claim.yaml").read_text())

    @property
    def input(self) -> dict | None:
        """The platform input (PlatformDefaults) the example assumes, if any."""
        path = self.directory / "input.yaml"
        return yaml.safe_load(path.read_text()) if path.exists() else None

    @property
    def required(self) -> list[dict]:
        """The resources the example assumes exist in the cluster."""
        path = self.directory / "required.yaml"
        return [d for d in yaml.safe_load_all(path.read_text()) if d] if path.exists() else []

    @property
    def composites(self) -> list[dict]:
        """The composites of our claims that required.yaml holds (render's stand-in for another example's claim).

        On a real control plane Crossplane makes those from the claims themselves (with generated names):
        they are never applied; the example whose claim they stand for is applied first (`with_dependencies`).
        """
        return [d for d in self.required if _is_our_composite(d)]

    @property
    def depends_on(self) -> list[tuple[str, str, str | None]]:
        """(claim kind, name, namespace) of the claims this example needs (the composites of required.yaml)."""
        return [(d["kind"][1:], d["metadata"]["labels"]["crossplane.io/claim-name"],
                 d["metadata"]["labels"]["crossplane.io/claim-namespace"])
                for d in self.composites]  # fmt: skip

    @property
    def namespace(self) -> str | None:
        """The claim's namespace (None for a cluster-scoped composite)."""
        return self.claim["metadata"].get("namespace")

    @property
    def kind(self) -> str:
        """The claim's kind."""
        return self.claim["kind"]

    @property
    def resource(self) -> str:
        """kubectl's name for the claim's kind."""
        return f"{PLURALS[self.kind]}.{GROUP}"

    def render_args(self, plane: ControlPlane | None = None) -> list[str]:
        """Arguments of `function-tau render` for this example.

        With `plane`, the composites of required.yaml (`composites`) are replaced by the live composites
        of the claims they stand for: what the function was given on that control plane.
        """
        args = [str(self.directory / "claim.yaml")]
        if plane is not None and self.composites:
            docs = [d for d in self.required if not _is_our_composite(d)] + live_composites(plane, self)
            directory = pathlib.Path(tempfile.mkdtemp(prefix="tau-required-"))
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
            path = directory / "required.yaml"
            path.write_text(yaml.safe_dump_all(docs))
            args += ["--required-resources", str(path)]
        elif (self.directory / "required.yaml").exists():
            args += ["--required-resources", str(self.directory / "required.yaml")]
        if (self.directory / "input.yaml").exists():
            args += ["--input", str(self.directory / "input.yaml")]
        return args


def examples() -> list[Example]:
    """Every example with a claim."""
    return [Example(d) for d in sorted(EXAMPLES.iterdir()) if (d / "claim.yaml").exists()]


def _is_our_composite(doc: dict) -> bool:
    """A composite (XPostgresInstance, ...) of our claim API group, bound to a claim by Crossplane's labels."""
    labels = (doc.get("metadata") or {}).get("labels") or {}
    return (doc.get("apiVersion", "").split("/")[0] == GROUP and doc.get("kind", "").startswith("X")
            and "crossplane.io/claim-name" in labels)  # fmt: skip


def live_composites(plane: ControlPlane, example: Example) -> list[dict]:
    """The live composites of the claims an example depends on (`Example.depends_on`)."""
    out = []
    for kind, name, namespace in example.depends_on:
        claim = plane.get(f"{PLURALS[kind]}.{GROUP}", name, namespace)
        ref = ((claim or {}).get("spec") or {}).get("resourceRef") or {}
        xr = plane.get(f"x{PLURALS[kind]}.{GROUP}", ref["name"]) if ref.get("name") else None
        if xr is None:
            raise AssertionError(f"{example.name}: no composite of {kind} {namespace}/{name} on the control plane")
        xr["metadata"] = {k: v for k, v in xr["metadata"].items() if k != "managedFields"}
        out.append(xr)
    return out


def with_dependencies(chosen: list[Example]) -> list[Example]:
    """`chosen` with the examples they depend on (a database's instance), each dependency before its dependents.

    An example whose required.yaml holds an XPostgresInstance composite names a claim of another example
    (examples/postgresinstance): that example is applied first, as a user would create the instance first.
    """
    every = {(e.kind, e.claim["metadata"]["name"], e.namespace): e for e in examples()}
    ordered: list[Example] = []

    def add(example: Example, trail: tuple[str, ...] = ()) -> None:
        if any(e.name == example.name for e in ordered):
            return
        for needed in example.depends_on:
            if needed not in every:
                raise LookupError(f"{example.name} needs the claim {needed}, which no example has")
            if every[needed].name in trail:
                raise LookupError(f"{example.name}: circular example dependencies {trail}")
            add(every[needed], (*trail, example.name))
        ordered.append(example)

    for example in chosen:
        add(example)
    return ordered


def render(*args: str, assume_ready: bool = True) -> list[dict]:
    """`function-tau render` (the CLI) of a claim: the composite first, then the composed resources."""
    argv = [str(FUNCTION_TAU), "render", *(["--assume-ready"] if assume_ready else []), *args]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"function-tau render {' '.join(args)} failed: {proc.stderr or proc.stdout}")
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def composition_input_name(composition: str, example: Example) -> str:
    """The Composition an admin adds with an example's platform input."""
    return f"{composition}-{example.name}"


def install_example_composition(plane: ControlPlane, example: Example) -> str | None:
    """For an example with an input.yaml: a Composition with that input (as an admin would add); its name."""
    if example.input is None:
        return None
    kinds = {example.kind, "X" + example.kind}
    found = [
        c
        for c in plane.items("compositions.apiextensions.crossplane.io")
        if c["spec"]["compositeTypeRef"]["kind"] in kinds
    ]
    if not found:
        raise ControlPlaneError(f"no Composition for {example.kind}")
    composition = min(found, key=lambda c: len(c["metadata"]["name"]))
    base = composition["metadata"]["name"]
    doc = {
        "apiVersion": composition["apiVersion"], "kind": "Composition",
        "metadata": {"name": composition_input_name(base, example), "labels": composition["metadata"].get("labels", {})},
        "spec": copy.deepcopy(composition["spec"]),
    }  # fmt: skip
    doc["spec"]["pipeline"][0]["input"] = example.input
    plane.apply([doc])
    return doc["metadata"]["name"]


def ensure_namespace(plane: ControlPlane, namespace: str | None) -> None:
    """Create a namespace unless it exists (a user creates it before applying a claim)."""
    if namespace and plane.get("namespace", namespace) is None:
        plane.kubectl("create", "namespace", namespace)


def apply_required(plane: ControlPlane, standin: CNPGStatusStandIn, example: Example) -> None:
    """The resources an example assumes: applied, and a Backup given its completed status by the stand-in.

    A composite of our claims (`Example.composites`) is not applied: its example's claim is (`with_dependencies`).
    """
    for doc in example.required:
        if _is_our_composite(doc):
            continue
        ensure_namespace(plane, doc["metadata"].get("namespace"))
        status = doc.pop("status", None)
        plane.apply([doc])
        if doc["kind"] == "CustomResourceDefinition":
            plane.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{doc['metadata']['name']}")
        if status and doc["kind"] == "Backup":
            standin.backup_completed(doc["metadata"]["namespace"], doc["metadata"]["name"], status)


def apply_claim(plane: ControlPlane, claim: dict, composition: str | None = None) -> float:
    """kubectl apply a claim (selecting `composition` when given); the monotonic time it was applied."""
    claim = copy.deepcopy(claim)
    if composition:
        claim["spec"]["compositionRef"] = {"name": composition}
    ensure_namespace(plane, claim["metadata"].get("namespace"))
    start = time.monotonic()
    plane.apply([claim])
    return start


def get_claim(plane: ControlPlane, example_or_claim: Example | dict) -> dict | None:
    """The live claim."""
    claim = example_or_claim.claim if isinstance(example_or_claim, Example) else example_or_claim
    res = f"{PLURALS[claim['kind']]}.{GROUP}"
    return plane.get(res, claim["metadata"]["name"], claim["metadata"].get("namespace"))


def composite_name(plane: ControlPlane, claim: dict) -> str | None:
    """The name of the claim's composite (the composite itself when cluster-scoped)."""
    live = get_claim(plane, claim)
    if live is None:
        return None
    if not claim["metadata"].get("namespace"):
        return live["metadata"]["name"]
    return (live.get("spec", {}).get("resourceRef") or {}).get("name")


def composed_objects(plane: ControlPlane, claim: dict) -> list[dict]:
    """The provider-kubernetes Objects composed for a claim."""
    xr = composite_name(plane, claim)
    if not xr:
        return []
    return plane.items(OBJECT, selector=f"crossplane.io/composite={xr}")


def condition(obj: dict | None, kind: str) -> dict:
    """A condition of an object's status ({} when absent)."""
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return {}


def is_true(obj: dict | None, kind: str) -> bool:
    """Whether a condition is True."""
    return condition(obj, kind).get("status") == "True"


def manifest(obj: dict) -> dict:
    """The manifest an Object wraps."""
    return obj["spec"]["forProvider"]["manifest"]


def inner(plane: ControlPlane, obj: dict) -> dict | None:
    """The live resource an Object manages."""
    m = manifest(obj)
    return plane.get(resource(m["kind"], m["apiVersion"]), m["metadata"]["name"], m["metadata"].get("namespace"))


def report_ready(plane: ControlPlane, standin: CNPGStatusStandIn, objects: list[dict], done: set) -> None:
    """Have the stand-in report every Cluster, Database and Deployment that exists and was not reported."""
    for obj in objects:
        m = manifest(obj)
        if m["kind"] not in STANDIN_KINDS or m["apiVersion"].split("/")[0] not in ("postgresql.cnpg.io", "apps"):
            continue
        key = (m["kind"], m["metadata"].get("namespace"), m["metadata"]["name"])
        if key in done or plane.get(STANDIN_KINDS[m["kind"]], key[2], key[1]) is None:
            continue
        {"Cluster": standin.cluster_healthy, "Database": standin.database_applied,
         "DatabaseRole": standin.database_role_applied,
         "Deployment": standin.deployment_available}[m["kind"]](key[1], key[2])  # fmt: skip
        done.add(key)


def claim_key(claim: dict) -> str:
    """`Kind namespace/name` of a claim."""
    return f"{claim['kind']} {claim['metadata'].get('namespace', '')}/{claim['metadata']['name']}"


def converge(plane: ControlPlane, standin: CNPGStatusStandIn, claims: list[dict], *, timeout: float = 420,
             ready: bool = True, fail: bool = True) -> dict[str, dict]:  # fmt: skip
    """Play the kubelet until every claim is Ready (or, `ready` False, until every Object is Synced).

    The state of each claim (`claim`, `objects`, `converged`) by `claim_key`; raises AssertionError on
    timeout unless `fail` is False.
    """
    done: set = set()
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        pending = []
        for claim in claims:
            key = claim_key(claim)
            objects = composed_objects(plane, claim)
            report_ready(plane, standin, objects, done)
            live = get_claim(plane, claim)
            synced = bool(objects) and all(is_true(o, "Synced") for o in objects)
            converged = synced and (not ready or is_true(live, "Ready"))
            state[key] = {"claim": live, "objects": objects, "converged": converged}
            if not converged:
                pending.append(key)
        if not pending:
            return state
        time.sleep(2)
    if not fail:
        return state
    summary = {k: _summary(v) for k, v in state.items()}
    raise AssertionError(f"not converged within {timeout:.0f}s: {json.dumps(summary, indent=1)[:6000]}\n"
                         f"crossplane: {plane.logs('crossplane', 15)}")  # fmt: skip


def describe(plane: ControlPlane, claim: dict) -> str:
    """What a claim, its composite and its Objects say now, and Crossplane's last log lines: for a timeout's message."""
    entry = {"claim": get_claim(plane, claim), "objects": composed_objects(plane, claim)}
    xr_name = composite_name(plane, claim)
    xr_kind = f"x{PLURALS[claim['kind']]}.{GROUP}" if claim["metadata"].get("namespace") else None
    composite = plane.get(xr_kind, xr_name) if xr_kind and xr_name else None
    summary = _summary(entry) | {
        "composite": [
            (c.get("type"), c.get("status"), c.get("reason"), c.get("message", "")[:300])
            for c in ((composite or {}).get("status") or {}).get("conditions", [])
        ]
    }
    return f"{json.dumps(summary, indent=1)[:6000]}\ncrossplane: {plane.logs('crossplane', 25)}"


def _summary(entry: dict) -> dict:
    claim = entry["claim"] or {}
    return {
        "claim": [(c.get("type"), c.get("status"), c.get("reason"), c.get("message", "")[:200])
                  for c in (claim.get("status") or {}).get("conditions", [])],
        "objects": {
            o["metadata"].get("annotations", {}).get("crossplane.io/composition-resource-name", o["metadata"]["name"]):
                [(c.get("type"), c.get("status"), c.get("message", "")[:200]) for c in o.get("status", {}).get("conditions", [])]
            for o in entry["objects"]
        },
    }  # fmt: skip


def differences(want: Any, live: Any, path: str = "") -> list[str]:
    """Where `live` differs from `want` on the fields `want` sets (dicts by key; lists element by element)."""
    if isinstance(want, dict):
        if not isinstance(live, dict):
            return [f"{path}: want an object, live {live!r}"]
        out = []
        for key, value in want.items():
            if key not in live:
                out.append(f"{path}.{key}: missing in the API server (want {value!r})"[:300])
            else:
                out += differences(value, live[key], f"{path}.{key}")
        return out
    if isinstance(want, list):
        if not isinstance(live, list) or len(live) != len(want):
            return [f"{path}: want {want!r}, live {live!r}"[:300]]
        return [d for i, (w, v) in enumerate(zip(want, live, strict=True)) for d in differences(w, v, f"{path}[{i}]")]
    if want != live and str(want) != str(live):
        return [f"{path}: want {want!r}, live {live!r}"[:300]]
    return []


def manifest_differences(want: dict, live: dict) -> list[str]:
    """`differences` for a wrapped manifest; a Secret's values are compared by key only (passwords differ)."""
    want = copy.deepcopy(want)
    out = []
    if want["kind"] == "Secret":
        keys = set(want.pop("data", {}) or {}) | set(want.pop("stringData", {}) or {})
        missing = keys - set(live.get("data") or {})
        if missing:
            out.append(f".data: keys {sorted(missing)} missing in the API server")
    return out + differences(want, live)


def rendered_objects(docs: list[dict]) -> dict[str, dict]:
    """The rendered composed resources by composition resource name."""
    return {
        d["metadata"]["annotations"]["crossplane.io/composition-resource-name"]: d
        for d in docs[1:]
        if d.get("metadata", {}).get("annotations", {}).get("crossplane.io/composition-resource-name")
    }


HELM_KINDS = ("CNPGOperator", "XCNPGOperator")


def apply_examples(plane: ControlPlane, standin: CNPGStatusStandIn, chosen: list[Example], *,
                   timeout: float = 600) -> dict:  # fmt: skip
    """Apply examples at once (required resources, an admin's Composition for an input) and converge them.

    The state of each by example name (see `converge`), or {"refused": message} when kubectl apply failed.
    The CNPGOperator's provider-helm Releases never become ready here: it is only brought to Synced.
    """
    refused = {}
    chosen = with_dependencies(chosen)
    for example in chosen:
        try:
            apply_required(plane, standin, example)
            composition = install_example_composition(plane, example)
            apply_claim(plane, example.claim, composition)
        except ControlPlaneError as error:
            refused[example.name] = str(error)
    ours = [e for e in chosen if e.name not in refused]
    state = converge(plane, standin, [e.claim for e in ours if e.kind not in HELM_KINDS], timeout=timeout, fail=False)
    helm = [e.claim for e in ours if e.kind in HELM_KINDS]
    if helm:
        state.update(converge(plane, standin, helm, timeout=120, ready=False, fail=False))
    by_name: dict = {e.name: state[claim_key(e.claim)] for e in ours}
    by_name.update({name: {"refused": message} for name, message in refused.items()})
    return by_name


def example_state(applied: dict, example: Example) -> dict:
    """The state of one example from `apply_examples`; fails the test when kubectl refused it."""
    state = applied[example.name]
    assert "refused" not in state, f"kubectl apply of {example.name} failed: {state['refused']}"
    return state
