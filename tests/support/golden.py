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

from function.generate import dump
from function.render import mask_secrets


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
            difflib.unified_diff(golden.splitlines(True), want_text.splitlines(True), str(path), "actual", n=2)
        )
        raise AssertionError(f"output differs from {path} (UPDATE_GOLDEN=1 rewrites it):\n{diff[:6000]}")
