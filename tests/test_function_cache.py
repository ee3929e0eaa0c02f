"""The response cache answers a request again only with what composing it again would give.

A response is cached only after the same request got the same response twice,
so the first reconcile (which draws a password) is never cached; a cached
answer is byte for byte what the function computes; every caller gets its own
copy; the cache is bounded; and it holds no request and no password but in the
responses themselves.
"""

from __future__ import annotations

import asyncio
import base64

from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import cache, fn, keys
from tests.support import function as f


def _call(runner: fn.FunctionRunner, req: fnv1.RunFunctionRequest) -> fnv1.RunFunctionResponse:
    return asyncio.run(runner.RunFunction(req, None))


def _steady(name: str = "shop") -> fnv1.RunFunctionRequest:
    xr = f.composite("PostgresDatabase", {"extensions": ["pgcrypto"]}, name=name, namespace=name)
    _, observed = f.converge(xr)
    return f.request(xr, observed)


def _password(rsp: fnv1.RunFunctionResponse) -> str:
    return base64.b64decode(f.manifests(rsp)[keys.CREDENTIALS]["data"]["password"]).decode()


def test_a_repeated_request_is_answered_from_the_cache_with_what_composing_gives():
    req = _steady()
    computed = f.run(req).SerializeToString(deterministic=True)  # a runner without history
    runner = fn.FunctionRunner()
    answers = [_call(runner, req).SerializeToString(deterministic=True) for _ in range(4)]
    assert len(runner.cache) == 1  # kept after the second identical answer
    assert answers == [computed] * 4


def test_the_first_reconcile_is_never_cached_its_password_is_drawn_each_time():
    req = f.request(f.composite("PostgresDatabase"))
    runner = fn.FunctionRunner()
    passwords = {_password(_call(runner, req)) for _ in range(4)}
    assert len(passwords) == 4
    assert len(runner.cache) == 0


def test_a_request_that_differs_in_anything_is_composed_again():
    runner = fn.FunctionRunner()
    req = _steady()
    for _ in range(2):
        _call(runner, req)
    other = fnv1.RunFunctionRequest()
    other.CopyFrom(req)
    other.meta.tag = "another"
    assert runner.cache.get(runner.cache.key(other)) is None
    assert _call(runner, other).meta.tag == "another"


def test_the_key_does_not_depend_on_the_order_of_map_keys():
    # Go marshals maps in random order; Crossplane's requests arrive so.
    fields = {f"key-{i}": {"nested": i, "other": str(i)} for i in range(64)}
    a, b = fnv1.RunFunctionRequest(), fnv1.RunFunctionRequest()
    a.observed.composite.resource.update(fields)
    b.observed.composite.resource.update(dict(reversed(fields.items())))
    assert a.SerializeToString() != b.SerializeToString()  # the same request, other bytes
    assert cache.ResponseCache().key(a) == cache.ResponseCache().key(b)


def test_every_hit_is_a_copy_of_its_own():
    runner, req = fn.FunctionRunner(), _steady()
    for _ in range(2):
        _call(runner, req)
    first = _call(runner, req)
    first.desired.resources.clear()
    first.meta.tag = "changed by a caller"
    second = _call(runner, req)
    assert len(second.desired.resources) > 0
    assert second.meta.tag == req.meta.tag


def test_the_cache_is_bounded_and_forgets_the_least_recently_used():
    store = cache.ResponseCache(size=2)
    reqs = [fnv1.RunFunctionRequest(meta=fnv1.RequestMeta(tag=str(i))) for i in range(5)]
    for req in reqs:
        for _ in range(2):
            store.offer(store.key(req), fnv1.RunFunctionResponse(meta=fnv1.ResponseMeta(tag=req.meta.tag)))
    assert len(store) == 2
    assert [store.get(store.key(r)) is not None for r in reqs] == [False, False, False, True, True]
    assert len(store._seen_once) <= 4


def test_two_different_answers_to_one_request_are_never_cached():
    store = cache.ResponseCache()
    key = store.key(fnv1.RunFunctionRequest())
    for tag in ("a", "b", "c", "d"):
        store.offer(key, fnv1.RunFunctionResponse(meta=fnv1.ResponseMeta(tag=tag)))
    assert store.get(key) is None


def test_a_cache_of_size_zero_is_off():
    runner, req = fn.FunctionRunner(cache_size=0), _steady()
    for _ in range(3):
        _call(runner, req)
    assert runner.cache.key(req) is None
    assert len(runner.cache) == 0


def test_the_cache_keeps_digests_of_requests_and_the_password_only_inside_the_response():
    runner, req = fn.FunctionRunner(), _steady()
    for _ in range(2):
        rsp = _call(runner, req)
    password = _password(rsp).encode()
    store = runner.cache
    held_keys = [*store._responses, *store._seen_once, *store._seen_once.values()]
    assert held_keys
    assert all(len(k) == 32 and password not in k for k in held_keys)
    # The one place it is: the credentials Secret of the cached response (base64, as in every response).
    (blob,) = store._responses.values()
    assert password not in blob
    assert base64.b64encode(password) in blob
