"""Platform inputs with logical dumps (issue #9), on the example's PUBLIC test key."""

from __future__ import annotations

import yaml

from tests.support.paths import EXAMPLES

# The example input: dumps on for every database, encrypted to a public key whose private half is gone.
DUMPS_INPUT: dict = yaml.safe_load((EXAMPLES / "postgresdatabase-dumps" / "input.yaml").read_text())
PUBLIC_KEY: str = DUMPS_INPUT["dumps"]["publicKey"]
# A public key configured, dumps off unless a claim asks.
KEY_ONLY_INPUT: dict = {
    "apiVersion": "fn.tau.home.arpa/v1alpha1",
    "kind": "PlatformDefaults",
    "dumps": {"publicKey": PUBLIC_KEY},
}
