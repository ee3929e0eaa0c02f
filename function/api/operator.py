"""CNPGOperator: installs the CloudNativePG operator (cluster-scoped composite, no claim).

(Stub: issue #4 fills in the fields of SPEC §3 CNPGOperator.)
"""

from __future__ import annotations

from pydantic import Field

from function.api.common import TauModel


class CNPGOperatorSpec(TauModel):
    """The desired state of a CNPGOperator."""

    namespace: str = Field("cnpg-system", description="Namespace the operator is installed into.")


class CNPGOperatorStatus(TauModel):
    """How the operator install is doing."""

    chartVersion: str | None = Field(None, description="The cloudnative-pg chart version installed.")
