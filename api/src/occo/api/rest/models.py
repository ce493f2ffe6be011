"""The JSON answers of the REST service, as pydantic models: the OpenAPI document is made
from them, so what it promises is what the routes send.

The shapes are the original's where it had one (`infraid`, the report of an
infrastructure, the cost, the misspelt `infrastuctures` key kept beside the
right one for old clients); what is new (the error body's `problems`, a
submission's `warnings`, the maintenance status) only adds keys.
"""
from __future__ import annotations

from pydantic import BaseModel, Field, RootModel


class Problem(BaseModel):
    """One problem, located in the submitted text when it is about it (line and column
    count from 1)."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    hint: str | None = None


class ErrorBody(BaseModel):
    """Every error the service answers. `reason` is what went wrong (the original's field),
    `message` the same with what to do about it; `problems` lists each located problem (a
    bad description's, a malformed request's), and is empty otherwise."""

    status_code: int
    reason: str
    message: str
    problems: list[Problem] = Field(default_factory=list)


class InfraId(BaseModel):
    infraid: str


class Submitted(InfraId):
    """A description accepted: its infrastructure is built by the maintenance daemon.
    `warnings`: what occopus-build would warn about (a node that may get an implementation
    this installation cannot build)."""

    warnings: list[Problem] = Field(default_factory=list)


class InfrastructureList(BaseModel):
    infrastructures: list[str]
    infrastuctures: list[str] = Field(
        description="the same list under the original's misspelt key, for old clients")


class InstanceReport(BaseModel):
    resource_address: str | list[str] | None = Field(
        description="the instance's address, a list when it has several, null before it has one")
    state: str


class ScalingReport(BaseModel):
    actual: int = Field(description="instances there are")
    target: int = Field(description="instances the node should have")
    min: int
    max: int


class NodeReport(BaseModel):
    instances: dict[str, InstanceReport] = Field(description="by node id")
    scaling: ScalingReport


class InfrastructureReport(RootModel[dict[str, NodeReport]]):
    """Every node of the infrastructure, by name."""


class CostReport(RootModel[dict[str, float | dict[str, float]]]):
    """`totalcost`, and for each node its instances' costs by node id."""


class MaintenanceReport(BaseModel):
    """How the maintenance daemon keeps an infrastructure."""

    infraid: str
    attached: bool = Field(description="maintained by the service (by one of its processes)")
    here: bool = Field(description="maintained by the process that answers")
    running: bool = Field(description="a pass is in flight in the process that answers")
    last_pass: float | None = Field(description="when its last pass here started (epoch seconds)")
    last_ok: bool | None = Field(description="whether that pass did all it had to")
    destroying: bool = Field(description="a DELETE is tearing it down")
