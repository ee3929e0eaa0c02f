"""RBAC as sets of (API group, resource, verb), derived from what is actually applied.

The install's ClusterRoles must grant exactly what the providers need, no
more: the kinds the function composes (for provider-kubernetes), the kinds the
charts install (for provider-helm), and, because Kubernetes refuses to let
anyone create a Role or bind one that grants more than they hold (RBAC
escalation prevention), every permission in the Roles and ClusterRoles those
providers create. These helpers turn manifests and rules into comparable sets.
"""

from __future__ import annotations

from collections.abc import Iterable

Permission = tuple[str, str, str]  # (apiGroup, resource, verb)

# What a provider needs to manage (apply with server-side apply, observe, delete) a kind.
MANAGE_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")
READ_VERBS = ("get", "list", "watch")
RBAC_KINDS = ("Role", "ClusterRole")


def api_group(api_version: str) -> str:
    """The API group of an apiVersion ("" for the core group)."""
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def guess_resource(kind: str) -> str:
    """The resource (plural) of a kind, as Kubernetes guesses it (meta.UnsafeGuessKindToResource).

    Every kind composed or installed here follows the rule; the tests check the
    guess against the CRDs' own plurals where a CRD is at hand.
    """
    singular = kind.lower()
    if singular.endswith("s"):
        return singular + "es"
    if singular.endswith("y"):
        return singular[:-1] + "ies"
    return singular + "s"


def manage(manifests: Iterable[dict], plurals: dict[tuple[str, str], str] | None = None) -> set[Permission]:
    """Full management of every kind among `manifests` (plurals from CRDs where known, else guessed)."""
    out: set[Permission] = set()
    for manifest in manifests:
        group = api_group(manifest["apiVersion"])
        resource = (plurals or {}).get((group, manifest["kind"])) or guess_resource(manifest["kind"])
        out.update((group, resource, verb) for verb in MANAGE_VERBS)
    return out


def from_rules(rules: Iterable[dict]) -> set[Permission]:
    """The permissions a list of PolicyRules grants (resourceNames and nonResourceURLs are not used here)."""
    out: set[Permission] = set()
    for rule in rules:
        assert not rule.get("resourceNames") and not rule.get("nonResourceURLs"), rule
        for group in rule.get("apiGroups") or ():
            for resource in rule.get("resources") or ():
                out.update((group, resource, verb) for verb in rule.get("verbs") or ())
    return out


def granted(manifests: Iterable[dict]) -> set[Permission]:
    """Everything the Roles and ClusterRoles among `manifests` grant."""
    out: set[Permission] = set()
    for manifest in manifests:
        if manifest.get("apiVersion") == "rbac.authorization.k8s.io/v1" and manifest.get("kind") in RBAC_KINDS:
            out |= from_rules(manifest.get("rules") or ())
    return out


def to_rules(permissions: Iterable[Permission]) -> list[dict]:
    """Compact, canonical PolicyRules: resources of one group with the same verbs share a rule."""
    by_resource: dict[tuple[str, str], set[str]] = {}
    for group, resource, verb in permissions:
        by_resource.setdefault((group, resource), set()).add(verb)
    grouped: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    order = {verb: i for i, verb in enumerate((*MANAGE_VERBS, "deletecollection"))}
    for (group, resource), verbs in by_resource.items():
        key = (group, tuple(sorted(verbs, key=lambda v: (order.get(v, len(order)), v))))
        grouped.setdefault(key, []).append(resource)
    return [
        {"apiGroups": [group], "resources": sorted(resources), "verbs": list(verbs)}
        for (group, verbs), resources in sorted(grouped.items())
    ]


def describe(permissions: Iterable[Permission]) -> str:
    """Permissions as readable lines, for assertion messages."""
    return "\n".join(f"  {group or 'core'}/{resource}: {verb}" for group, resource, verb in sorted(permissions))
