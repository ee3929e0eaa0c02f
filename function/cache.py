"""A small in-memory cache of responses, for requests the function has answered before.

Crossplane calls the function on every reconcile of every claim: at each poll
and whenever a composed resource changes. A claim at rest sends the same
request every time, and the function is deterministic (SPEC §7: the same
request gives the same response, byte for byte, once the credentials exist),
so it need not compose it again.

What it takes to be safe:
- The key is a digest of the whole request, serialized deterministically (map
  keys sorted, so Go's random map order does not matter). The tag Crossplane
  sends is not trusted as a key: another caller may send any tag.
- A response is kept only once the function has given the same response to
  the same request twice. The first reconcile draws a random password, so its
  two answers differ and it is never cached; nor is anything else that might
  one day not be deterministic.
- Bounded: at most `size` responses (least recently used go first) and twice
  as many digests of requests seen once. A response is kept as its
  serialized bytes, and each hit gets a fresh message parsed from them, so no
  caller can change what another receives.
- Secrets: a cached response holds what every response holds (the credentials
  Secret, where the password belongs) and only in this process's memory; the
  keys are digests, never requests. Nothing here logs.
  (Crossplane's own alpha response cache, `--enable-function-response-cache`,
  writes responses to disk; this one never does.)
"""

from __future__ import annotations

import collections
import hashlib

from crossplane.function.proto.v1 import run_function_pb2 as fnv1

DEFAULT_SIZE = 256


def _digest(data: bytes) -> bytes:
    # SHA-256: collision-resistant, and the fastest such hash here (CPUs have instructions for it).
    return hashlib.sha256(data).digest()


class ResponseCache:
    """Responses by request digest, kept after two identical answers."""

    def __init__(self, size: int = DEFAULT_SIZE):
        self.size = size
        self._responses: collections.OrderedDict[bytes, bytes] = collections.OrderedDict()
        # Request digest -> digest of the one answer given so far.
        self._seen_once: collections.OrderedDict[bytes, bytes] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._responses)

    def key(self, req: fnv1.RunFunctionRequest) -> bytes | None:
        """The cache key of a request (None when the cache is off)."""
        if self.size <= 0:
            return None
        return _digest(req.SerializeToString(deterministic=True))

    def get(self, key: bytes | None) -> fnv1.RunFunctionResponse | None:
        """A fresh copy of the response cached for `key`, if any."""
        if key is None:
            return None
        blob = self._responses.get(key)
        if blob is None:
            return None
        self._responses.move_to_end(key)
        return fnv1.RunFunctionResponse.FromString(blob)

    def offer(self, key: bytes | None, rsp: fnv1.RunFunctionResponse) -> None:
        """Record the answer to a request; keep it once the same request got the same answer twice."""
        if key is None:
            return
        # Not deterministic=True, which sorts every map: the function builds
        # a response in the same order each time, so the bytes repeat too
        # (and were they ever to differ, the response would only go uncached).
        blob = rsp.SerializeToString()
        answer = _digest(blob)
        previous = self._seen_once.pop(key, None)
        if previous != answer:
            self._seen_once[key] = answer
            if len(self._seen_once) > 2 * self.size:
                self._seen_once.popitem(last=False)
            return
        self._responses[key] = blob
        if len(self._responses) > self.size:
            self._responses.popitem(last=False)
