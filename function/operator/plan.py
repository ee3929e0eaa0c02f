"""Resolve a CNPGOperator into a plan: its Helm release names, and the changes Helm cannot make."""

from __future__ import annotations

import dataclasses

from function import names
from function.api.operator import CNPGOperatorSpec
from function.errors import SpecError, show
from function.keys import DUMP_STORAGE_CLASS, OPERATOR_RELEASE, SNAPSHOT_CLASS
from function.observed import Observed, dig

OPERATOR_CHART = "cloudnative-pg"
PLUGIN_CHART = "plugin-barman-cloud"
# Helm refuses release names longer than 53 characters.
HELM_RELEASE_NAME_MAX = 53
MAX_NAME = HELM_RELEASE_NAME_MAX - len(f"-{PLUGIN_CHART}")


@dataclasses.dataclass(frozen=True)
class OperatorPlan:
    """A CNPGOperator with its release names."""

    spec: CNPGOperatorSpec
    operator_release: str
    plugin_release: str


def release_names(composite_name: str) -> tuple[str, str]:
    """The Helm release names of the operator and the plugin.

    provider-helm names a Helm release after the Release resource. Each name
    contains its chart's name, so the charts name their resources after the
    release alone: `cnpg-cloudnative-pg`, `cnpg-plugin-barman-cloud`.
    """
    return f"{composite_name}-{OPERATOR_CHART}", f"{composite_name}-{PLUGIN_CHART}"


def _check_name(composite_name: str) -> None:
    """Refuse a composite name the Helm release names cannot be derived from."""
    problem = names.dns1123_label_problem(composite_name, MAX_NAME)
    if problem:
        raise SpecError.one(
            "metadata.name",
            f"{problem} (the Helm releases are named <name>-{OPERATOR_CHART} and <name>-{PLUGIN_CHART}, "
            f"and Helm allows at most {HELM_RELEASE_NAME_MAX} characters)",
        )


def _check_namespace(spec: CNPGOperatorSpec, observed: Observed) -> None:
    """Refuse moving an installed operator: Helm cannot move a release between namespaces."""
    installed = dig(observed.get(OPERATOR_RELEASE), "spec", "forProvider", "namespace")
    if isinstance(installed, str) and installed != spec.namespace:
        raise SpecError.one(
            "spec.namespace",
            f"cannot change from {show(installed)} to {show(spec.namespace)} once the operator is installed; "
            "delete the CNPGOperator and create it again to move it",
        )


def _check_snapshot_class_name(spec: CNPGOperatorSpec, observed: Observed) -> None:
    """Refuse renaming the class: provider-kubernetes would create the new one and leave the old one behind."""
    created = dig(observed.manifest(SNAPSHOT_CLASS), "metadata", "name")
    wanted = spec.volumeSnapshotClass
    if wanted.create and isinstance(created, str) and created != wanted.name:
        raise SpecError.one(
            "spec.volumeSnapshotClass.name",
            f"cannot change from {show(created)} to {show(wanted.name)} once the class exists; set create: false "
            "first (which deletes it), then create it under the new name",
        )


def _check_dump_storage_class(spec: CNPGOperatorSpec, observed: Observed) -> None:
    """Refuse changing the dump StorageClass: Kubernetes refuses updates to a StorageClass's parameters."""
    created = observed.manifest(DUMP_STORAGE_CLASS)
    wanted = spec.dumpStorageClass
    if not wanted.create or created is None:
        return
    for field, before, after in (
        ("name", dig(created, "metadata", "name"), wanted.name),
        ("server", dig(created, "parameters", "server"), wanted.server),
        ("share", dig(created, "parameters", "share"), wanted.share),
    ):
        if isinstance(before, str) and before != after:
            raise SpecError.one(
                f"spec.dumpStorageClass.{field}",
                f"cannot change from {show(before)} to {show(after)} once the class exists (Kubernetes refuses "
                "changes to a StorageClass); set create: false first (which deletes the class; volumes made from "
                "it keep their server and files), then create it again",
            )


def plan_operator(composite_name: str, spec: CNPGOperatorSpec, observed: Observed) -> OperatorPlan:
    """The plan, or a SpecError for a name Helm cannot take or a change Helm cannot make."""
    _check_name(composite_name)
    _check_namespace(spec, observed)
    _check_snapshot_class_name(spec, observed)
    _check_dump_storage_class(spec, observed)
    operator_release, plugin_release = release_names(composite_name)
    return OperatorPlan(spec=spec, operator_release=operator_release, plugin_release=plugin_release)
