"""SPEC §7 under generated input, for all four kinds: hostile claims, later claims, and the wire.

For every generated claim, valid or broken in any way (wrong types, unicode, empty and enormous
strings, huge lists, floats where integers belong, fields missing or added; see
tests/support/strategies.py):

- no crash and no gRPC error: the answer is a response, never an exception;
- either a desired state in which every manifest validates against its upstream schema and
  stays in the claim's namespace, or a fatal result that names a field and asks for nothing
  (Crossplane then leaves every composed resource as it is);
- the same request twice gives byte-identical responses (on a first reconcile, all but the
  newly drawn password, SPEC §7.1);
- no response can exceed the 4 MiB gRPC message limit.

And with observed resources present (the state a converged claim left), a later request never
has fewer desired resources than were observed unless it is fatal. The only keys that may go
are the stateless ones a valid spec switches off: an application's Service and Ingress when
`port` / `ingress` are removed, the operator's plugin release, snapshot class, Longhorn
settings (orphaned) and dump StorageClass when switched off (docs/SECURITY.md says why), and an
instance's Pooler when `pooler` is removed.
"""

from __future__ import annotations

import functools
import re

import grpc
import jsonschema
import pytest
import yaml
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from hypothesis import event, given
from hypothesis import strategies as st

from function import keys, simulate
from tests.support import crossplane, gomod, schemas
from tests.support import function as f
from tests.support.strategies import KINDS, Kind, budget, edited, hostile, invalid, platform_inputs

# The gRPC message limit the function serves with (the SDK's default, as Crossplane calls it).
MESSAGE_LIMIT = 4 * 1024 * 1024
# A refusal starts with the field: spec..., metadata.name or input..., then ": ".
FIELD = re.compile(r"^(spec|metadata|input)([.\[][^\n]*?)?: ")
PASSWORD_KEYS = ("password", "DB_PASSWORD", "PGPASSWORD", "DATABASE_URL")
IDS = [kind.name for kind in KINDS]


def anything(kind: Kind) -> st.SearchStrategy:
    """Every claim a property should survive: valid, broken valid ones, and garbage."""
    return st.one_of(kind.valid, hostile(kind.valid, kind.fields), kind.garbage)


class Schemas:
    """Every upstream schema a desired state is checked against (with a short repr for hypothesis' reports)."""

    def __repr__(self) -> str:
        return "Schemas(.tools/crds, Kubernetes 1.33, external-snapshotter's VolumeSnapshotClass, Longhorn's Setting)"

    @functools.cached_property
    def snapshot_class(self) -> jsonschema.Draft7Validator:
        """external-snapshotter's VolumeSnapshotClass CRD (not among the pinned CRDs of tests/support/upstream.py; from the Go module cache).

        Loaded when first needed, so that without Go only a test that composes a class is skipped.
        """
        return schemas.crd_validator(yaml.safe_load(gomod.snapshot_class_crd_file().read_text()), "v1")

    @functools.cached_property
    def longhorn_setting(self) -> jsonschema.Draft7Validator:
        """Longhorn's Setting CRD (longhorn-manager v1.9.0, from the Go module cache), loaded when first needed."""
        return schemas.crd_validator(gomod.longhorn_setting_crd(), "v1beta2")

    def validate(self, body: dict) -> None:
        """A composed resource, and the manifest inside an Object, against their upstream schemas."""
        manifest = ((body.get("spec") or {}).get("forProvider") or {}).get("manifest")
        kind = manifest.get("kind") if body.get("kind") == "Object" and isinstance(manifest, dict) else None
        if kind == "VolumeSnapshotClass":
            schemas.validate(body)
            self.snapshot_class.validate(manifest)
        elif kind == "Setting":
            schemas.validate(body)
            self.longhorn_setting.validate(manifest)
        else:
            schemas.validate_composed(body)


@pytest.fixture(scope="module")
def upstream() -> Schemas:
    """The upstream schemas."""
    return Schemas()


def comparable(rsp: fnv1.RunFunctionResponse, *, drawn: bool) -> bytes:
    """The response's bytes, with a newly drawn password blanked when `drawn` (the one random draw)."""
    if drawn and keys.CREDENTIALS in rsp.desired.resources:
        copy = fnv1.RunFunctionResponse()
        copy.CopyFrom(rsp)
        resource = copy.desired.resources[keys.CREDENTIALS].resource
        data = resource.fields["spec"].struct_value.fields["forProvider"].struct_value.fields["manifest"]
        for key in PASSWORD_KEYS:
            data.struct_value.fields["data"].struct_value.fields[key].string_value = ""
        rsp = copy
    return rsp.SerializeToString(deterministic=True)


def observed_keys(observed: list[dict]) -> set[str]:
    """The keys of observed composed resources."""
    return {d["metadata"]["annotations"]["crossplane.io/composition-resource-name"] for d in observed}


def check_answer(kind: Kind, rsp: fnv1.RunFunctionResponse, upstream: Schemas) -> str | None:
    """What every answer must be: readable, in bounds, and either valid manifests or a refusal that names a field."""
    assert all(r.reason != "InternalError" for r in rsp.results), [r.message for r in rsp.results]
    assert rsp.ByteSize() < MESSAGE_LIMIT
    message = f.fatal(rsp)
    if message is not None:
        assert FIELD.match(message), message
        assert "Traceback" not in message
        assert not rsp.desired.resources  # Crossplane applies nothing from a fatal response
        assert not rsp.requirements.resources and not rsp.requirements.extra_resources
        assert f.conditions(rsp)[kind.condition].status == fnv1.STATUS_CONDITION_FALSE
        return message
    for body in f.desired(rsp).values():
        upstream.validate(body)
    if kind.claim is not None:  # tenancy: everything in the claim's namespace (SPEC §7.4)
        for key, manifest in f.manifests(rsp).items():
            assert manifest["metadata"]["namespace"] == "shop", key
            assert all(s.get("namespace") == "shop" for s in manifest.get("subjects") or ()), key
        for field in (rsp.requirements.resources, rsp.requirements.extra_resources):
            assert all(selector.namespace == "shop" for selector in field.values())
    return None


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
@budget(500)
@given(data=st.data())
def test_any_claim_gets_valid_manifests_or_a_fatal_that_names_a_field(kind: Kind, data, upstream):
    spec = data.draw(anything(kind), label="spec")
    platform = data.draw(platform_inputs(spec), label="input")
    req = f.request(kind.composite(spec), required=kind.required, function_input=platform)
    rsp, again = f.run(req), f.run(req)
    message = check_answer(kind, rsp, upstream)
    if message:
        _fatal_event("any", message)
    else:
        event("composed")
    _dump_event(rsp)
    assert comparable(rsp, drawn=True) == comparable(again, drawn=True)


def _later(
    kind: Kind, before: dict, platform: dict | None, data: st.DataObject
) -> tuple[str, object, str | None, dict | None]:
    """A later spec: the same one, a certainly invalid one, an edit of it, another valid one, or a broken one; and
    the platform input then: the same one (always for the same spec), or another the later spec composes with."""
    how = data.draw(st.sampled_from(["same", "invalid", "edited", "valid", "hostile"]), label="how")
    if how == "same":
        return how, before, None, platform
    if how == "invalid":
        spec, field, platform = data.draw(invalid(kind.valid, kind.breaks), label="invalid")
        return how, spec, field, platform
    if how == "edited":
        after = data.draw(edited(before, kind.valid), label="after")
    elif how == "valid":
        after = data.draw(kind.valid, label="after")
    else:
        after = data.draw(hostile(kind.valid, kind.fields), label="after")
    return how, after, None, data.draw(st.just(platform) | platform_inputs(after), label="input after")


def _dump_event(rsp: fnv1.RunFunctionResponse) -> None:
    """Count the answers that compose dumps or a restore from one (hypothesis statistics)."""
    desired = set(rsp.desired.resources)
    for key, what in ((keys.DUMP_CRON_JOB, "dump CronJob"), (keys.DUMP_RESTORE_JOB, "dump restore Job")):
        if key in desired:
            event(f"composes a {what}")


def _fatal_event(how: str, message: str) -> None:
    """Count refusals by the first field they name (hypothesis statistics)."""
    event(f"{how}: fatal ({message.split(': ', 1)[0]})")


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
@budget(300)
@given(data=st.data())
def test_a_later_request_never_has_fewer_resources_than_exist_unless_fatal(kind: Kind, data, upstream):
    before = data.draw(kind.valid, label="before")
    platform = data.draw(platform_inputs(before), label="input")
    converged, observed = f.converge(kind.composite(before), required=kind.required, function_input=platform)
    assert f.fatal(converged) is None, f.fatal(converged)
    _dump_event(converged)
    how, after, field, platform = _later(kind, before, platform, data)
    req = f.request(kind.composite(after), observed, kind.required, platform)
    rsp, again = f.run(req), f.run(req)
    existing, desired = observed_keys(observed), set(rsp.desired.resources)
    drawn = keys.CREDENTIALS not in existing  # e.g. a database switched on later: its first password
    if not drawn:  # byte for byte, as on the wire
        assert rsp.SerializeToString() == again.SerializeToString()
    assert comparable(rsp, drawn=drawn) == comparable(again, drawn=drawn)
    message = check_answer(kind, rsp, upstream)
    if message is not None:
        assert how not in ("same",), message
        if field is not None:
            assert f"{field}:" in message, (field, message)
            event(f"invalid: fatal, names the broken {field}")  # it may name the fields that differ first
        else:
            _fatal_event(how, message)
        return
    assert how != "invalid", (field, after)
    dropped = existing - desired
    allowed = kind.may_drop(after)
    assert dropped <= allowed, (dropped, allowed)
    if how == "same":
        assert rsp.SerializeToString(deterministic=True) == converged.SerializeToString(deterministic=True)
    event(f"{how}: composed" + (f", dropped {sorted(dropped)}" if dropped else ""))


# A claim of each kind with every optional resource: what it converges to is what exists.
EVERYTHING = {
    "XPostgresDatabase": {"extensions": ["pgcrypto"]},
    "XTauApplication": {"image": "nginx", "port": 80, "ingress": {"host": "a.b"}, "database": {"enabled": True}},
    "CNPGOperator": {
        "barmanCloudPlugin": {"enabled": True},
        "volumeSnapshotClass": {"create": True},
        "dumpStorageClass": {"create": True, "server": "nas.home.arpa"},
    },
    "XPostgresInstance": {"pooler": {}},
}


@functools.cache
def _converged(kind: Kind) -> list[dict]:
    """What Crossplane observes once EVERYTHING of a kind converged."""
    rsp, _ = f.converge(kind.composite(EVERYTHING[kind.name]), required=kind.required)
    assert f.fatal(rsp) is None
    return simulate.observe(rsp)


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
@budget(100)
@given(data=st.data())
def test_only_a_spec_that_removes_them_drops_the_stateless_resources(kind: Kind, data, upstream):
    """From everything a kind can compose, exactly the documented keys go, and only when the spec removes them."""
    observed = _converged(kind)
    after = data.draw(st.one_of(edited(EVERYTHING[kind.name], kind.valid), anything(kind)), label="after")
    platform = data.draw(platform_inputs(after), label="input")
    rsp = f.run(f.request(kind.composite(after), observed, kind.required, platform))
    message = check_answer(kind, rsp, upstream)
    if message is not None:
        _fatal_event("any", message)
        return
    dropped = observed_keys(observed) - set(rsp.desired.resources)
    assert dropped == kind.may_drop(after), (dropped, after)
    event(f"dropped {sorted(dropped)}")


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
@budget(100)
@given(data=st.data())
def test_over_grpc_no_error_and_the_same_bytes_twice(kind: Kind, data, function_address):
    """The real server: a hostile claim is a response (never a gRPC error), the same one each time."""
    spec = data.draw(anything(kind), label="spec")
    platform = data.draw(platform_inputs(spec), label="input")
    live = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "shop-postgres-credentials", "namespace": "shop"},
        "data": {"password": "c2VjcmV0LXBhc3N3b3Jk"},
    }
    # With a live Secret to adopt, no password is drawn: the answers are identical to the byte. It is
    # the Secret the function asks for (it uses only the object of the asked name and namespace).
    asked = f.run(
        f.request(kind.composite(spec), required=kind.required, function_input=platform)
    ).requirements.resources
    if keys.LIVE_SECRET in asked:
        live["metadata"].update(name=asked[keys.LIVE_SECRET].match_name, namespace=asked[keys.LIVE_SECRET].namespace)
    req = f.request(kind.composite(spec), required={**kind.required, keys.LIVE_SECRET: [live]}, function_input=platform)
    if req.ByteSize() >= MESSAGE_LIMIT:
        with pytest.raises(grpc.RpcError) as refused:
            crossplane.call(function_address, req, timeout=30)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        event("over the message limit: RESOURCE_EXHAUSTED")
        return
    with grpc.insecure_channel(function_address) as channel:
        call = channel.unary_unary(
            "/apiextensions.fn.proto.v1.FunctionRunnerService/RunFunction",
            request_serializer=fnv1.RunFunctionRequest.SerializeToString,
        )
        first, second = call(req, timeout=30), call(req, timeout=30)  # raw bytes, as they came over the wire
    assert first == second
    rsp = fnv1.RunFunctionResponse.FromString(first)
    assert all(r.reason != "InternalError" for r in rsp.results)
    message = f.fatal(rsp)
    assert message is None or (FIELD.match(message) and not rsp.desired.resources), message
    event("fatal" if message else "composed")


# ---------------------------------------------------------------------------------------------------------------
# Hostile composite metadata. Crossplane copies it from the claim, and Kubernetes types it (a name is a
# string of at most 253 characters, labels map strings to strings), so only a raw gRPC caller can send the
# wrong types; the function should still answer with a refusal, not an InternalError.

ALL = ("XPostgresDatabase", "XTauApplication", "CNPGOperator", "XPostgresInstance")
CLAIMED = ("XPostgresDatabase", "XTauApplication", "XPostgresInstance")
# (case, metadata, kinds that must refuse it). Metadata of the wrong type is refused for every kind
# (function/dispatch.py), so is a name no resource can be derived from.
METADATA = [
    ("no metadata", None, ALL),
    ("an empty name", {"name": ""}, ALL),
    ("a unicode name", {"name": "名前"}, ALL),
    ("a name of a million characters", {"name": "a" * 1_000_000}, ALL),
    ("a claim name that is no DNS label", {"name": "shop-x1", "labels": {"crossplane.io/claim-name": "Shop!",
                                                                          "crossplane.io/claim-namespace": "shop"}},
     CLAIMED),
    ("a name that is a number", {"name": 5}, ALL),
    ("metadata that is a list", [1], ALL),
    ("labels that are a list", {"name": "shop", "labels": ["x"]}, ALL),
    ("a claim-name label that is a list", {"name": "shop", "labels": {"crossplane.io/claim-name": ["x"],
                                                                       "crossplane.io/claim-namespace": "shop"}},
     ALL),
    ("a claim-namespace label that is a number", {"name": "shop", "labels": {"crossplane.io/claim-name": "shop",
                                                                              "crossplane.io/claim-namespace": 7}},
     ALL),
]  # fmt: skip


def _metadata_cases() -> list:
    cases = []
    for kind in KINDS:
        for name, metadata, refused in METADATA:
            cases.append(pytest.param(kind, metadata, kind.name in refused, id=f"{kind.name}-{name}"))
    return cases


@pytest.mark.parametrize(("kind", "metadata", "refused"), _metadata_cases())
def test_hostile_metadata_is_refused_not_a_crash(kind: Kind, metadata: object, upstream: Schemas, *, refused: bool):
    xr = kind.composite({"image": "nginx"} if kind.name == "XTauApplication" else {})
    if metadata is None:
        del xr["metadata"]
    else:
        xr["metadata"] = metadata
    rsp = f.run(f.request(xr, required=kind.required))
    message = check_answer(kind, rsp, upstream)
    if refused:
        assert message is not None
