"""Every way a TauApplication can be wrong, and the message that says so.

Each case: a spec (and sometimes the claim name or what exists already), the
field the fatal result must name, and words it must contain. A refused claim
gets no desired resources and an ApplicationReady=False/InvalidSpec condition.
The whole response of every case is compared with its golden file
(tests/golden/errors/application/), so any change to a message is a reviewed diff.
"""

from __future__ import annotations

import pytest
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import simulate
from tests.support import function as f
from tests.support import golden
from tests.support.function import Case

KIND = "TauApplication"
IMAGE = "nginx:1.27"
WEB = {"image": IMAGE, "port": 8080}


def _db(**fields) -> dict:
    return {"image": IMAGE, "database": {"enabled": True, **fields}}


CASES = [
    # image
    Case("no image", {}, "spec.image", "is required"),
    Case("empty image", {"image": ""}, "spec.image", "is empty; name the image"),
    Case("image with a space", {"image": "nginx 1.27"}, "spec.image", "whitespace"),
    Case("image with a trailing newline", {"image": "nginx:1.27\n"}, "spec.image", "whitespace"),
    Case("image in capitals", {"image": "Nginx:1.27"}, "spec.image", "not an image reference"),
    Case("image with a scheme", {"image": "https://ghcr.io/org/app"}, "spec.image", "not an image reference"),
    Case("image with an empty tag", {"image": "nginx:"}, "spec.image", "not an image reference"),
    Case("image with a short digest", {"image": "nginx@sha256:abc"}, "spec.image", "not an image reference"),
    Case("image too long", {"image": "a" * 600}, "spec.image", "at most 512"),
    Case("image repository too long", {"image": "r/" * 130 + "a"}, "spec.image", "at most 255"),
    Case("image not a string", {"image": ["nginx"]}, "spec.image", "valid string"),
    # command, args, replicas
    Case("command not a list", {"image": IMAGE, "command": "sleep 3600"}, "spec.command", "valid list"),
    Case("args with a number", {"image": IMAGE, "args": ["--port", 8080]}, "spec.args[1]", "valid string"),
    Case("too many args", {"image": IMAGE, "args": ["x"] * 65}, "spec.args", "at most 64"),
    Case("negative replicas", {"image": IMAGE, "replicas": -1}, "spec.replicas", "must be between 0 and 100"),
    Case("too many replicas", {"image": IMAGE, "replicas": 101}, "spec.replicas", "must be between 0 and 100"),
    Case("replicas not a number", {"image": IMAGE, "replicas": "two"}, "spec.replicas", "valid integer"),
    # env
    Case("env name with a digit first", {"image": IMAGE, "env": [{"name": "1PORT", "value": "x"}]},
         "spec.env[0].name", "not an environment variable name"),
    Case("env name with '='", {"image": IMAGE, "env": [{"name": "A=B", "value": "x"}]},
         "spec.env[0].name", "not an environment variable name"),
    Case("env name empty", {"image": IMAGE, "env": [{"name": "", "value": "x"}]}, "spec.env[0].name", "environment variable"),
    Case("env without name", {"image": IMAGE, "env": [{"value": "x"}]}, "spec.env[0].name", "is required"),
    Case("env set twice", {"image": IMAGE, "env": [{"name": "A", "value": "1"}, {"name": "B"}, {"name": "A", "value": "2"}]},
         "spec.env", "'A' is set twice (entries 0 and 2)"),
    Case("env value not a string", {"image": IMAGE, "env": [{"name": "A", "value": 1}]}, "spec.env[0].value", "valid string"),
    Case("env not a list", {"image": IMAGE, "env": {"A": "1"}}, "spec.env", "valid list"),
    # resources
    Case("request above limit", {"image": IMAGE, "resources": {"requests": {"memory": "1Gi"}, "limits": {"memory": "512Mi"}}},
         "spec.resources", "greater than limits.memory"),
    Case("cpu not a quantity", {"image": IMAGE, "resources": {"limits": {"cpu": "one"}}},
         "spec.resources.limits.cpu", "not a Kubernetes quantity"),
    # port and ingress
    Case("port zero", {"image": IMAGE, "port": 0}, "spec.port", "must be between 1 and 65535"),
    Case("port too high", {"image": IMAGE, "port": 65536}, "spec.port", "must be between 1 and 65535"),
    Case("port by name", {"image": IMAGE, "port": "http"}, "spec.port", "valid integer"),
    Case("ingress without port", {"image": IMAGE, "ingress": {"host": "shop.home.arpa"}}, "spec.ingress", "needs spec.port"),
    Case("ingress without host", {**WEB, "ingress": {"className": "nginx"}}, "spec.ingress.host", "is required"),
    Case("host with a scheme", {**WEB, "ingress": {"host": "https://shop.home.arpa"}}, "spec.ingress.host", "not a DNS name"),
    Case("host with a path", {**WEB, "ingress": {"host": "shop.home.arpa/app"}}, "spec.ingress.host", "not a DNS name"),
    Case("host with a port", {**WEB, "ingress": {"host": "shop.home.arpa:443"}}, "spec.ingress.host", "not a DNS name"),
    Case("host in capitals", {**WEB, "ingress": {"host": "Shop.home.arpa"}}, "spec.ingress.host", "lower-case"),
    Case("wildcard host", {**WEB, "ingress": {"host": "*.home.arpa"}}, "spec.ingress.host", "wildcard"),
    Case("host label too long", {**WEB, "ingress": {"host": "a" * 64 + ".home.arpa"}}, "spec.ingress.host", "at most 63"),
    Case("host too long", {**WEB, "ingress": {"host": ("a" * 60 + ".") * 5 + "arpa"}}, "spec.ingress.host", "at most 253"),
    Case("ingress class not a name", {**WEB, "ingress": {"host": "shop.home.arpa", "className": "Nginx Class"}},
         "spec.ingress.className", "not a valid Kubernetes name"),
    Case("tls without issuer", {**WEB, "ingress": {"host": "shop.home.arpa", "tls": {}}},
         "spec.ingress.tls.clusterIssuer", "is required"),
    Case("tls issuer not a name", {**WEB, "ingress": {"host": "shop.home.arpa", "tls": {"clusterIssuer": "Let's Encrypt"}}},
         "spec.ingress.tls.clusterIssuer", "not a valid Kubernetes name"),
    # the claim's name and namespace
    Case("claim name with a dot", {"image": IMAGE}, "metadata.name", "not a DNS-1123 label", claim_name="shop.v2"),
    Case("claim name too long", {"image": IMAGE}, "metadata.name", "at most 63", claim_name="s" * 64),
    Case("service name starts with a digit", WEB, "metadata.name", "DNS-1035", claim_name="1shop"),
    Case("other namespace", {"image": IMAGE, "namespace": "elsewhere"}, "spec.namespace", "always go to its own namespace"),
    # the database
    Case("reserved database", _db(name="postgres"), "spec.database.name", "reserved"),
    Case("database in capitals", _db(name="Shop"), "spec.database.name", "plain PostgreSQL identifier"),
    Case("derived database name", _db(), "spec.database.name", "derived from the claim name", claim_name="9shop"),
    Case("derived cluster name too long", _db(), "spec.database.instance.name", "at most 50", claim_name="s" * 42),
    Case("reserved owner", _db(owner="pg_admin"), "spec.database.owner", "reserved"),
    Case("storage size not a quantity", _db(storageSize="ten"), "spec.database.storageSize", "not a Kubernetes quantity"),
    Case("storage size zero", _db(storageSize="0Gi"), "spec.database.storageSize", "greater than zero"),
    Case("two storage sizes", _db(storageSize="5Gi", instance={"storage": {"size": "10Gi"}}),
         "spec.database.storageSize", "set only one"),
    Case("bad extension", _db(extensions=["uuid-ossp", "x; drop"]), "spec.database.extensions[1]", "not an extension name"),
    Case("extension twice", _db(extensions=["pgcrypto", "pgcrypto"]), "spec.database.extensions", "listed twice"),
    Case("five-field cron", _db(backup={"schedule": "0 3 * * *"}), "spec.database.backup.schedule", "five fields"),
    Case("version too old", _db(instance={"version": 13}), "spec.database.instance.version", "must be between 14 and 18"),
    Case("object store not configured", _db(backup={"method": "objectStore"}), "spec.database.backup.method",
         "platform input does not configure"),
    Case("deletion policy", _db(deletionPolicy="Orphan"), "spec.database.deletionPolicy", "'Retain' or 'Delete'"),
    Case("database namespace", _db(namespace="elsewhere"), "spec.database.namespace", "set spec.namespace instead"),
    Case("enabled not a boolean", {"image": IMAGE, "database": {"enabled": "maybe"}}, "spec.database.enabled", "valid boolean"),
    Case("restore with a bad time", _db(restore={"backupName": "nightly", "pointInTime": "yesterday"}),
         "spec.database.restore.pointInTime", "RFC 3339"),
    # the whole spec
    Case("spec not an object", "nginx", "spec", "must be an object"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_refused_with_the_field_and_what_is_allowed(case: Case):
    xr = f.composite(KIND, None, name=case.claim_name)
    xr["spec"] = case.spec
    rsp = f.run(f.request(xr, function_input=case.function_input))
    message = f.fatal(rsp)
    assert message is not None, f"{case.name}: accepted"
    assert f"{case.field}:" in message, message
    assert case.says in message, message
    assert "Traceback" not in message and "InternalError" not in message
    assert not rsp.desired.resources
    condition = f.conditions(rsp)["ApplicationReady"]
    assert condition.status == fnv1.STATUS_CONDITION_FALSE and condition.reason == "InvalidSpec"
    assert condition.message == message
    golden.check_refusal("TauApplication", case.name, rsp)


def test_every_problem_is_reported_at_once():
    xr = f.composite(
        KIND,
        {
            "image": "Nginx",
            "replicas": -1,
            "env": [{"name": "1A"}],
            "ingress": {"host": "*.x"},
            "database": {"enabled": True, "name": "postgres", "storageSize": "ten"},
        },
    )
    message = f.fatal(f.run(f.request(xr)))
    for field in ("spec.image:", "spec.replicas:", "spec.env[0].name:", "spec.ingress.host:", "spec.database.name:",
                  "spec.database.storageSize:"):  # fmt: skip
        assert field in message, message


def test_cross_field_and_database_problems_are_reported_together():
    xr = f.composite(KIND, {"image": IMAGE, "ingress": {"host": "shop.home.arpa"}, "database": {"enabled": True}},
                     name="9shop")  # fmt: skip
    message = f.fatal(f.run(f.request(xr)))
    assert "spec.ingress:" in message and "spec.database.name:" in message, message


def test_a_huge_value_is_not_echoed_in_full():
    xr = f.composite(KIND, {"image": "x y" * 50_000})
    message = f.fatal(f.run(f.request(xr)))
    assert "spec.image:" in message
    assert len(message) < 1000


# Rules about what exists already: a converged claim, then a changed spec.


def _existing(spec: dict) -> list[dict]:
    rsp, _ = f.converge(f.composite(KIND, spec))
    assert f.fatal(rsp) is None
    return simulate.observe(rsp)


EXISTING_CASES = [
    ("database switched off", _db(), {"image": IMAGE}, "spec.database.enabled", "never removed"),
    ("database switched off, fields kept", _db(name="store"), {"image": IMAGE, "database": {"enabled": False, "name": "store"}},
     "spec.database.enabled", "CNPG Cluster postgres-shop"),
    ("database renamed", _db(), _db(name="store"), "spec.database.name", "cannot change"),
    ("owner renamed", _db(), _db(owner="store_user"), "spec.database.owner", "cannot change"),
    ("storage shrunk with storageSize", _db(storageSize="20Gi"), _db(storageSize="10Gi"), "spec.database.storageSize",
     "cannot shrink"),
    ("storage shrunk with instance", _db(instance={"storage": {"size": "20Gi"}}), _db(instance={"storage": {"size": "5Gi"}}),
     "spec.database.instance.storage.size", "cannot shrink"),
    ("downgrade", _db(instance={"version": 16}), _db(instance={"version": 15}), "spec.database.instance.version",
     "cannot be downgraded"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "before", "after", "field", "says"), EXISTING_CASES, ids=[c[0] for c in EXISTING_CASES]
)
def test_changes_the_existing_database_cannot_take_are_refused(name, before, after, field, says):
    observed = _existing(before)
    rsp = f.run(f.request(f.composite(KIND, after), observed))
    message = f.fatal(rsp)
    assert message is not None and f"{field}:" in message and says in message, message
    assert not rsp.desired.resources
    golden.check_refusal("TauApplication", f"existing {name}", rsp)


def test_a_database_switched_off_before_it_existed_is_fine():
    rsp = f.run(f.request(f.composite(KIND, {"image": IMAGE, "database": {"enabled": False}})))
    assert f.fatal(rsp) is None
