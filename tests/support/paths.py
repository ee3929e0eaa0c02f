"""Where things are: the repository, the pinned upstream CRDs, the Crossplane CLI."""

from __future__ import annotations

import os
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
# The upstream CRDs, fetched from their Go modules, pinned and checksummed (tests/support/upstream.py).
CRDS = pathlib.Path(os.environ.get("TAU_CRDS", REPO / ".tools" / "crds")).resolve()
EXAMPLES = REPO / "examples"
APIS = REPO / "apis"
APIS_V2 = REPO / "apis-v2"  # the Crossplane 2 APIs (issue #13)
GOLDEN = REPO / "tests" / "golden"
CROSSPLANE_CLI = pathlib.Path(os.environ.get("CROSSPLANE_CLI", REPO / ".tools" / "crossplane"))
# The Crossplane 1.20 CLI, whose render passes required resources the 1.20 way (extra_resources).
CROSSPLANE_CLI_120 = pathlib.Path(os.environ.get("CROSSPLANE_CLI_120", REPO / ".tools" / "crossplane-1.20"))
