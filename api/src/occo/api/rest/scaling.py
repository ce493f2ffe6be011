"""Scale routes at the original's paths: scaleup, scaledown and scaleto.

A request is queued as `occopus-scale` queues it (`occo.api.scalerequests`):
atomically, within what the next passes can carry out, so that any number of
requests at once never take a node beyond its limits. What the limits cannot
take is refused with 409 and the most that would be accepted, never clamped.
Accepted requests answer 202 with the original's shape plus what was accepted
and what waits, and wake the maintainer so that a pass comes soon.

The routes are coroutines: their store work is a few short queries on the
event loop's own connection. Handing it to a worker thread cost more than the
work (0.3 ms of CPU a request with 100 requests at once, passing the GIL back
and forth) and tripled the latency of a burst (ADR 0016).
"""
from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from occo.compiler import StaticDescription
from occo.enactor.description import stored_description
from occo.infobroker.store import PendingScaling
from occo.infobroker.store.base import ScalingKind

from ..scalerequests import (Advice, NodeNotFound, Queued, ScaleRefused, check_node,
                             queue_request, set_target)
from .auth import require_writer
from .errors import RestError, answer, responses
from .models import ErrorBody
from .service import RestService, service_of

router = APIRouter(tags=["scaling"], dependencies=[Depends(require_writer)])


class Pending(BaseModel):
    """The node's requests waiting for the next pass."""

    create: int = Field(description="instances to create")
    destroy: int = Field(description="instances to destroy, the youngest")
    named: list[str] = Field(description="instances to destroy, by node id or address")


class ScaleAnswer(BaseModel):
    method: str = Field(description="scaleup, scaledown or scaleto")
    infraid: str
    nodename: str
    accepted: int = Field(description="requests queued (scaleto: the target set); 0 for an "
                                      "instance already to be destroyed")
    pending: Pending


class ScaleCountAnswer(ScaleAnswer):
    count: int = Field(description="instances asked for (scaleto: the target)")


class ScaleDownAnswer(ScaleAnswer):
    nodeid: str | None = Field(description="the node id or address of the instance to "
                                           "destroy; null: the youngest")


class Refused(ErrorBody):
    """A request the node's limits cannot take: nothing was queued."""

    accepted: int = Field(description="the most requests of this kind that would be accepted "
                                      "now")


REFUSED = {409: {"model": Refused,
                 "description": "the node's limits cannot take the request (the next passes "
                                "could not carry it out in full): nothing was queued; "
                                "`accepted` is the most that would be"}}
SCALE_ERRORS = {**responses(400, 401, 403, 404, 422, 503), **REFUSED}
SCALETO_ERRORS = {
    **responses(401, 403, 404, 422, 503),
    400: {"model": ErrorBody,
          "description": "the count is outside the node's scaling limits [min, max]: a "
                         "description's limits are changed by submitting it again"},
}


class RestAdvice(Advice):
    """What a refusal advises, in routes."""

    def more(self, infra_id: str, name: str, room: int) -> str:
        return (f"ask for at most {room} more "
                f"(POST /infrastructures/{infra_id}/scaleup/{name}/{room})")

    def fewer(self, infra_id: str, name: str, room: int) -> str:
        return f"ask for at most {room} fewer"

    def queue(self, infra_id: str, name: str) -> str | None:
        return None


@router.post("/infrastructures/{infra_id}/scaleup/{node}", status_code=202,
             response_model=ScaleCountAnswer, responses=SCALE_ERRORS,
             summary="Queue the creation of one more instance of a node")
async def scale_up_one(infra_id: str, node: str, service: RestService = Depends(service_of)
                       ) -> ScaleCountAnswer | JSONResponse:
    return _scale_up(service, infra_id, node, 1)


@router.post("/infrastructures/{infra_id}/scaleup/{node}/{count}", status_code=202,
             response_model=ScaleCountAnswer, responses=SCALE_ERRORS,
             summary="Queue the creation of `count` more instances of a node")
async def scale_up(infra_id: str, node: str, count: int,
                   service: RestService = Depends(service_of)) -> ScaleCountAnswer | JSONResponse:
    return _scale_up(service, infra_id, node, count)


@router.post("/infrastructures/{infra_id}/scaledown/{node}", status_code=202,
             response_model=ScaleDownAnswer, responses=SCALE_ERRORS,
             summary="Queue the destruction of the youngest instance of a node")
async def scale_down_one(infra_id: str, node: str, service: RestService = Depends(service_of)
                         ) -> ScaleDownAnswer | JSONResponse:
    return _scale_down(service, infra_id, node, None)


@router.post("/infrastructures/{infra_id}/scaledown/{node}/{nodeid}", status_code=202,
             response_model=ScaleDownAnswer, responses=SCALE_ERRORS,
             summary="Queue the destruction of the instance with this node id or address")
async def scale_down(infra_id: str, node: str, nodeid: str,
                     service: RestService = Depends(service_of)) -> ScaleDownAnswer | JSONResponse:
    return _scale_down(service, infra_id, node, nodeid)


@router.post("/infrastructures/{infra_id}/scaleto/{node}/{count}", status_code=202,
             response_model=ScaleCountAnswer, responses=SCALETO_ERRORS,
             summary="Set the number of instances a node should have")
async def scale_to(infra_id: str, node: str, count: int,
                   service: RestService = Depends(service_of)) -> ScaleCountAnswer:
    static = _node(service, infra_id, node)
    store = service.store()
    set_target(store, static, node, count)
    service.maintainer.wake(infra_id)
    return ScaleCountAnswer(method="scaleto", infraid=infra_id, nodename=node, count=count,
                            accepted=count, pending=_pending(store.pending_scaling(infra_id,
                                                                                  node)))


def _scale_up(service: RestService, infra_id: str, node: str,
              count: int) -> ScaleCountAnswer | JSONResponse:
    if count < 1:
        raise RestError(400, f"scaleup needs a count of 1 or more, not {count}",
                        hint="scaledown removes instances")
    queued = _queue(service, infra_id, node, "create", count, None)
    if isinstance(queued, JSONResponse):
        return queued
    return ScaleCountAnswer(method="scaleup", infraid=infra_id, nodename=node, count=count,
                            accepted=queued.accepted, pending=_pending(queued.pending))


def _scale_down(service: RestService, infra_id: str, node: str,
                nodeid: str | None) -> ScaleDownAnswer | JSONResponse:
    queued = _queue(service, infra_id, node, "destroy", 1, nodeid)
    if isinstance(queued, JSONResponse):
        return queued
    return ScaleDownAnswer(method="scaledown", infraid=infra_id, nodename=node, nodeid=nodeid,
                           accepted=queued.accepted, pending=_pending(queued.pending))


def _queue(service: RestService, infra_id: str, node: str, kind: ScalingKind, count: int,
           value: str | None) -> Queued | JSONResponse:
    """Queue the request and wake the maintainer, or the 409 answer of a refusal."""
    static = _node(service, infra_id, node)
    try:
        queued = queue_request(service.store(), static, node, kind, count=count, value=value,
                               advice=RestAdvice())
    except ScaleRefused as refused:
        return _refused(refused)
    if queued.accepted:
        service.maintainer.wake(infra_id)
    return queued


def _node(service: RestService, infra_id: str, node: str) -> StaticDescription:
    """The infrastructure's description; 404 for an unknown infrastructure (the store's
    `InfrastructureNotFound`) or node (with the closest name as a hint)."""
    static = stored_description(service.store(), infra_id)
    try:
        check_node(static, node)
    except NodeNotFound as unknown:
        raise RestError(404, unknown.message, hint=unknown.hint) from None
    return static


def _refused(refused: ScaleRefused) -> JSONResponse:
    """The 409 answer: the error body every error has, and `accepted`."""
    return answer(409, refused.message, hint=refused.hint,
                  extra={"accepted": refused.accepted})


def _pending(pending: PendingScaling) -> Pending:
    return Pending(create=pending.create, destroy=pending.destroy, named=list(pending.named))
