"""What the two charts install, the record provider-helm's ClusterRole is derived from.

tests/golden/operator/charts.yaml records, for the cloudnative-pg and
plugin-barman-cloud charts at the versions CNPGOperator installs and with
every value CNPGOperator can set switched on: the kinds each chart installs
and every permission the Roles and ClusterRoles it creates grant.
tests/test_install.py derives provider-helm's ClusterRole from this record.

This test renders the real charts with `helm template` and compares. It needs
Helm and the charts: from https://cloudnative-pg.github.io/charts (the CI
workflow), or unpacked in TAU_CHARTS_DIR (`<dir>/cloudnative-pg`,
`<dir>/plugin-barman-cloud`, dependencies vendored under `charts/`) for a
machine without access to the chart repository. Without Helm it skips, or
fails when TAU_CHARTS_CHECK is set (the workflow sets it). UPDATE_GOLDEN=1
rewrites the record.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import pytest
import yaml

from function.api.operator import CNPGOperatorSpec, Monitoring
from function.operator import manifests as op_manifests
from function.operator import plan as op_plan
from tests.support import golden, rbac
from tests.support.install import documents
from tests.support.paths import GOLDEN

RECORD = GOLDEN / "operator" / "charts.yaml"
KUBERNETES_VERSION = "1.33.0"


def chart_values() -> dict[str, dict]:
    """The values CNPGOperator passes each chart, with every option it has switched on."""
    spec = CNPGOperatorSpec(monitoring=Monitoring(podMonitor=True, grafanaDashboard=True))
    return {op_plan.OPERATOR_CHART: op_manifests.operator_values(spec), op_plan.PLUGIN_CHART: {}}


def chart_versions() -> dict[str, str]:
    """The chart versions CNPGOperator installs by default."""
    spec = CNPGOperatorSpec()
    return {op_plan.OPERATOR_CHART: spec.chartVersion, op_plan.PLUGIN_CHART: spec.barmanCloudPlugin.chartVersion}


def derive(chart: str, version: str, values: dict, rendered: list[dict]) -> dict:
    """The record of one chart: what it installs, and what its Roles grant."""
    installs = sorted({(d["apiVersion"], d["kind"]) for d in rendered})
    return {
        "chart": chart,
        "version": version,
        "values": values,
        "installs": [{"apiVersion": a, "kind": k} for a, k in installs],
        "grants": rbac.to_rules(rbac.granted(rendered)),
    }


def _helm() -> str:
    helm = os.environ.get("HELM") or shutil.which("helm")
    if helm:
        return helm
    reason = "Helm is not installed: the chart record cannot be checked against the real charts"
    if os.environ.get("TAU_CHARTS_CHECK"):
        pytest.fail(reason)
    pytest.skip(reason)


def _render(helm: str, chart: str, version: str, values: dict, tmp_path: pathlib.Path) -> list[dict]:
    values_file = tmp_path / f"{chart}-values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    operator_release, plugin_release = op_plan.release_names("cnpg")
    release = operator_release if chart == op_plan.OPERATOR_CHART else plugin_release
    local = os.environ.get("TAU_CHARTS_DIR")
    source = (
        [str(pathlib.Path(local) / chart)]
        if local
        else [chart, "--repo", op_manifests.CHART_REPOSITORY, "--version", version]
    )
    args = [helm, "template", release, *source, "--namespace", "cnpg-system", "--values", str(values_file),
            "--kube-version", KUBERNETES_VERSION]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    if local:
        (meta,) = documents(pathlib.Path(local) / chart / "Chart.yaml")
        assert str(meta["version"]) == version, f"{local}/{chart} is version {meta['version']}, not {version}"
    return docs


def test_the_record_matches_what_the_charts_install(tmp_path):
    helm = _helm()
    values, versions = chart_values(), chart_versions()
    records = [
        derive(chart, versions[chart], values[chart], _render(helm, chart, versions[chart], values[chart], tmp_path))
        for chart in (op_plan.OPERATOR_CHART, op_plan.PLUGIN_CHART)
    ]
    golden.check(RECORD, [{"charts": records}], HEADER)


def test_the_record_is_for_the_charts_and_values_cnpgoperator_installs():
    """Runs everywhere: a change of chart version or values makes the record stale until it is re-derived."""
    (record,) = documents(RECORD)
    values, versions = chart_values(), chart_versions()
    assert [(c["chart"], c["version"], c["values"]) for c in record["charts"]] == [
        (chart, versions[chart], values[chart]) for chart in (op_plan.OPERATOR_CHART, op_plan.PLUGIN_CHART)
    ]


HEADER = (
    "# What the charts CNPGOperator installs put into the cluster, with every option CNPGOperator has\n"
    "# switched on: the kinds (provider-helm creates, updates and deletes them) and every permission their\n"
    "# Roles and ClusterRoles grant (provider-helm must hold them to create those roles: RBAC escalation\n"
    "# prevention). Derived by tests/test_install_charts.py from `helm template` of the real charts;\n"
    "# UPDATE_GOLDEN=1 with Helm and the charts re-derives it. provider-helm's ClusterRole is checked against it.\n"
)
