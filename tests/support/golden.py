"""Golden files: reviewed, committed expected outputs.

Set UPDATE_GOLDEN=1 to rewrite them from the current output; review the diff
like code before committing it.
"""

from __future__ import annotations

import base64
import copy
import difflib
import os
import pathlib
import re

from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from google.protobuf import json_format

from function.generate import dump
from function.render import integral, mask_secrets
from tests.support import function as f
from tests.support.paths import GOLDEN


def masked(docs: list[dict]) -> list[dict]:
    """Documents with every secret value replaced (the first password is random)."""
    out = []
    for original in docs:
        doc = copy.deepcopy(original)
        manifest = (
            (doc.get("spec") or {}).get("forProvider", {}).get("manifest")
            if isinstance(doc.get("spec"), dict)
            else None
        )
        if isinstance(manifest, dict):
            mask_secrets(manifest)
        elif doc.get("kind") == "Secret":
            mask_secrets(doc)
        out.append(doc)
    return out


def readable(docs: list[dict]) -> list[dict]:
    """Documents with Secret `data` shown decoded, so a reviewer can read a golden file."""
    out = []
    for original in docs:
        doc = copy.deepcopy(original)
        spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
        manifest = (spec.get("forProvider") or {}).get("manifest") if doc.get("kind") == "Object" else doc
        if isinstance(manifest, dict) and manifest.get("kind") == "Secret" and isinstance(manifest.get("data"), dict):
            manifest["data"] = {
                k: f"(base64 of) {base64.b64decode(v).decode(errors='replace')}" for k, v in manifest["data"].items()
            }
        out.append(doc)
    return out


def response(rsp: fnv1.RunFunctionResponse) -> dict:
    """A whole RunFunctionResponse as a reviewer reads it: every field, secrets masked, Secret data decoded."""
    doc = integral(json_format.MessageToDict(rsp, preserving_proto_field_name=True))
    resources = doc.get("desired", {}).get("resources", {})
    for key, item in resources.items():
        body = item.get("resource")
        if isinstance(body, dict):
            (item["resource"],) = readable(masked([body]))
        resources[key] = item
    return doc


def check_steady(path: pathlib.Path, rsp: fnv1.RunFunctionResponse, header: str) -> None:
    """Compare what a converged response says about the composite, and its composed resources, with `path`."""
    check(path, masked(f.composite_documents(rsp)), header)


def slug(name: str) -> str:
    """A file name for a table case's name."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def check_refusal(kind: str, case: str, rsp: fnv1.RunFunctionResponse) -> None:
    """Compare a refusal's whole response with tests/golden/errors/<kind, lower case>/<case>.yaml."""
    check(
        GOLDEN / "errors" / kind.lower() / f"{slug(case)}.yaml",
        [response(rsp)],
        f"# {kind} refused ({case}): the whole RunFunctionResponse.\n",
    )


def text(docs: list[dict]) -> str:
    """Canonical YAML of documents."""
    return dump(docs, sort_keys=True)


def check(path: pathlib.Path, docs: list[dict], header: str = "") -> None:
    """Compare `docs` with the golden file at `path` (or rewrite it with UPDATE_GOLDEN=1)."""
    want_text = header + text(readable(docs))
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(want_text)
        return
    assert path.exists(), f"golden file {path} is missing; run with UPDATE_GOLDEN=1 and review it"
    golden = path.read_text()
    if golden != want_text:
        diff = "".join(
            difflib.unified_diff(
                golden.splitlines(keepends=True), want_text.splitlines(keepends=True), str(path), "actual", n=2
            )
        )
        raise AssertionError(f"output differs from {path} (UPDATE_GOLDEN=1 rewrites it):\n{diff[:6000]}")
