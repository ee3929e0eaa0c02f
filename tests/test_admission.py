"""What `render` says the API server would refuse, checked against the real Crossplane CLI's validation.

The admission check (function/admission.py) is what makes `function-tau render`
refuse what `kubectl apply` would refuse. Its verdicts are compared here, case by
case, with `crossplane beta validate` on the same documents against the same
generated XRDs (the CLI uses the API server's own structural-schema and CEL
libraries), and every CEL rule the XRDs carry must have a Python twin.
"""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml

from function.admission import CEL_TWINS, admit
from tests.support import crossplane
from tests.support.paths import APIS

DATABASE = yaml.safe_load((APIS / "postgresdatabase" / "definition.yaml").read_text())
APPLICATION = yaml.safe_load((APIS / "tauapplication" / "definition.yaml").read_text())


def _claim(spec: object, *, name: str = "shop", kind: str = "PostgresDatabase") -> dict:
    return {
        "apiVersion": "tau.home.arpa/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "shop"},
        "spec": spec,
    }


SIX_FIELDS = (
    "CloudNativePG schedules have six fields, seconds first (daily at 03:00 is '0 0 3 * * *'); "
    "a five-field cron would run at the wrong times"
)

# (id, document, xrd, every problem in order)
CASES = [
    ("empty spec admitted", _claim({}), DATABASE, []),
    (
        "typos are unknown fields",
        _claim({"extentions": ["pgcrypto"], "instance": {"verison": 16}}),
        DATABASE,
        ['unknown field "spec.extentions"', 'unknown field "spec.instance.verison"'],
    ),
    (
        "strings where integers and booleans are expected",
        _claim({"instance": {"version": "16"}, "backup": {"enabled": "no", "retentionDays": "14"}}),
        DATABASE,
        [
            'spec.instance.version: Invalid value: "string": spec.instance.version in body must be of type integer: "string"',
            'spec.backup.enabled: Invalid value: "string": spec.backup.enabled in body must be of type boolean: "string"',
            'spec.backup.retentionDays: Invalid value: "string": spec.backup.retentionDays in body must be of type integer: "string"',
        ],
    ),
    (
        "spec as a list",
        _claim([]),
        DATABASE,
        ['spec: Invalid value: "array": spec in body must be of type object: "array"'],
    ),
    (
        "four problems reported at once",
        _claim(
            {
                "extentions": ["pgcrypto"],
                "instance": {"version": "16"},
                "backup": {"schedule": "0 3 * * *", "method": "tape"},
            }
        ),
        DATABASE,
        [
            'unknown field "spec.extentions"',
            'spec.instance.version: Invalid value: "string": spec.instance.version in body must be of type integer: "string"',
            'spec.backup.schedule: Invalid value: "0 3 * * *": ' + SIX_FIELDS,
            'spec.backup.method: Unsupported value: "tape": supported values: "volumeSnapshot", "objectStore", "none"',
        ],
    ),
    (
        "an upper-case name is one problem, not six",
        _claim({}, name="Wiki"),
        DATABASE,
        [
            'metadata.name: Invalid value: "Wiki": a lowercase RFC 1123 subdomain must consist of lower case '
            "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character "
            "(e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        ],
    ),
    (
        "an application without its image",
        _claim({"replicas": 1}, kind="TauApplication"),
        APPLICATION,
        ["spec.image: Required value"],
    ),
]


@pytest.mark.parametrize(("document", "xrd", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_admission_reports_every_problem_as_the_api_server_words_it(document, xrd, expected):
    assert admit(document, xrd) == expected


def _rules(schema: object) -> list[str]:
    if isinstance(schema, list):
        return [rule for item in schema for rule in _rules(item)]
    if not isinstance(schema, dict):
        return []
    own = [v["rule"] for v in schema.get("x-kubernetes-validations") or []]
    return own + [rule for value in schema.values() for rule in _rules(value)]


def test_every_cel_rule_of_every_generated_xrd_has_a_python_twin():
    rules = {rule for path in APIS.rglob("definition.yaml") for rule in _rules(yaml.safe_load(path.read_text()))}
    assert rules, "the XRDs carry CEL rules; none were found"
    assert rules <= set(CEL_TWINS), rules - set(CEL_TWINS)


SCHEDULES = [
    "0 0 3 * * *", "0 3 * * *", "@daily", "@every 1h", "  0  0 3 * * *  ", "0 0 3 * * * *", "", "*", "0 0  3 * * *",
    "@", "a b c d e f",
]  # fmt: skip


def _cli_problems(output: str) -> dict[str, set[str]]:
    """The problems `crossplane beta validate` printed, per document name, unknown fields worded as strict decoding."""
    problems: dict[str, set[str]] = {}
    line = re.compile(r"^\[x\] (?:schema|CEL) validation error [^,]+, Kind=\w+, (\S+) : (.*)$")
    for match in filter(None, map(line.match, output.splitlines())):
        name, problem = match.groups()
        unknown = re.match(r'^(\S+): Invalid value: "[^"]*": unknown field: "[^"]*"$', problem)
        problems.setdefault(name, set()).add(f'unknown field "{unknown.group(1)}"' if unknown else problem)
    return problems


@pytest.mark.crossplane_cli
def test_admission_agrees_with_crossplane_beta_validate(tmp_path: pathlib.Path):
    """The same documents through `crossplane beta validate` (real CEL, real structural schema): the same problems.

    The metadata.name check is the API server's, not the CLI's, so the upper-case name case is left out.
    """
    cases = [c for c in CASES if c[2] is DATABASE and c[1]["metadata"]["name"] != "Wiki"]
    documents = [c[1] for c in cases] + [_claim({"backup": {"schedule": s}}) for s in SCHEDULES]
    documents = [{**d, "metadata": {"name": f"doc{i}", "namespace": "shop"}} for i, d in enumerate(documents)]
    path = crossplane.write_documents(tmp_path, "claims.yaml", documents)
    _, output = crossplane.validate([APIS / "postgresdatabase" / "definition.yaml"], [path])
    ours = {d["metadata"]["name"]: set(admit(d, DATABASE)) for d in documents if admit(d, DATABASE)}
    assert _cli_problems(output) == ours, output
