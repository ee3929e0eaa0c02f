"""TauApplication: an application (Deployment, Service, Ingress) that can own its database.

(Stub: issue #3 fills in the fields of SPEC §3 TauApplication.)
"""

from __future__ import annotations

from pydantic import Field

from function.api.common import TauModel


class TauApplicationSpec(TauModel):
    """The desired state of a TauApplication."""

    image: str = Field(description="The container image to run.", min_length=1, max_length=512)


class TauApplicationStatus(TauModel):
    """How the application is doing."""

    availableReplicas: int | None = Field(None, description="Pods of the Deployment that are available.")
