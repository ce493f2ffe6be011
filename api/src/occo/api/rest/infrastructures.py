"""The routes of infrastructures: submit, list, show, delete, attach, detach, cost, maintenance.

The original's paths and JSON shapes, with honest codes (`errors`). A
submitted description goes through occopus-build's checks (compiled with the
configuration's limits, every node type imported, `description_check`) and
can never read a file of the server: it is loaded with no import folder, and
an import in it is refused where it stands. Accepted, it is stored, listed
in the service user's infralist as a build lists it, and attached: the
maintenance daemon builds it (201; `GET .../maintenance` says how that goes).
While the service stops nothing is stored (503); if attaching fails after
storing, the record and its infralist line are taken back: no infrastructure
is left that nothing maintains and nobody was told of.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from fastapi import APIRouter, Depends, Query, Request, Response

from occo.compiler import StaticDescription, compile_description
from occo.enactor.description import stored_description
from occo.enactor.scaling import current_target
from occo.infobroker.store import Store
from occo.infraprocessor.engine import InstanceStatus, by_name, recorded
from occo.util.config import Settings
from occo.util.errors import OccoError, SchemaError
from occo.util.yamlload import IMPORT_TAGS, YamlError, load_text

from ..buildable import check_imported, description_check
from ..infralist import Infralist
from .auth import require_reader, require_writer
from .errors import RestError, problem_of, responses
from .limits import stopping_error
from .models import (CostReport, InfraId, InfrastructureList, InfrastructureReport,
                     InstanceReport, MaintenanceReport, NodeReport, ScalingReport, Submitted)
from .service import RestService, service_of

router = APIRouter(prefix="/infrastructures", tags=["infrastructures"])

READER = [Depends(require_reader)]
WRITER = [Depends(require_writer)]

_TEXT = {"schema": {"type": "string"}}
DESCRIPTION_BODY = {"requestBody": {
    "required": True,
    "description": "the infrastructure description, YAML, as occopus-build reads it "
                   "(`curl --data-binary @infra.yaml`); any content type is read as YAML",
    "content": {"application/x-yaml": _TEXT, "text/plain": _TEXT,
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}


async def raw_body(request: Request) -> bytes:
    """The body as sent, whatever its content type says (the original took it so)."""
    return await request.body()


def compile_submitted(text: str, settings: Settings,
                      store: Store) -> tuple[StaticDescription, list[OccoError]]:
    """A submitted description compiled and checked as occopus-build does; its warnings.

    `SchemaError` with every problem (each import among them: no folder may be
    read, so no import is followed).
    """
    imports: list[YamlError] = []
    data = load_text(text, limits=dataclasses.replace(settings.yaml, import_paths=()),
                     import_errors=imports)
    if imports:
        raise SchemaError([OccoError(
            f"{_tag_of(error)}: imports are not allowed in a submitted description",
            location=error.location,
            hint="put what the imported file holds into the description itself")
            for error in imports])
    static = compile_description(data, limits=settings.limits)
    check_imported(store, data)
    cannot, may_not = description_check(static, data, store.get_node_definition)
    return static, cannot + may_not


def _tag_of(error: YamlError) -> str:
    return next((tag for tag in IMPORT_TAGS if error.message.startswith(tag)), "an import")


@router.post("/", status_code=201, response_model=Submitted, dependencies=WRITER,
             responses=responses(400, 401, 403, 413, 503), openapi_extra=DESCRIPTION_BODY,
             summary="Submit an infrastructure description")
def submit(response: Response, body: bytes = Depends(raw_body),
           service: RestService = Depends(service_of)) -> Submitted:
    """Compile and store the description and attach it: the daemon builds it. The answer's
    `Location` is the infrastructure's report; `warnings` are occopus-build's."""
    if service.stopping.cancelled:
        raise stopping_error()
    if not body.strip():
        raise RestError(400, "Empty POST data",
                        hint="send the infrastructure description as the body "
                             "(curl --data-binary @infra.yaml)")
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise RestError(400, "the description is not UTF-8 text",
                        hint="send the YAML file as it is, encoded in UTF-8") from None
    store = service.store()
    static, warnings = compile_submitted(text, service.settings, store)
    store.add_infrastructure(static.infra_id, static.to_dict())
    try:
        Infralist().add(static.infra_id)
        service.maintainer.attach(static.infra_id)
    except BaseException:
        _take_back(store, static.infra_id)
        raise
    response.headers["Location"] = f"{router.prefix}/{static.infra_id}"
    return Submitted(infraid=static.infra_id, warnings=[problem_of(item) for item in warnings])


def _take_back(store: Store, infra_id: str) -> None:
    """Undo a submit that could not be attached (the service began to stop): no record, no
    infralist line, nothing in the attached set. Nothing was built yet."""
    for undo in (lambda: store.detach(infra_id), lambda: store.remove_infrastructure(infra_id),
                 lambda: Infralist().remove(infra_id)):
        try:
            undo()
        except OccoError:       # the error that stopped the submit is the one to answer
            pass


@router.get("/", response_model=InfrastructureList, dependencies=READER,
            responses=responses(401, 503), summary="List the infrastructures")
def list_infrastructures(service: RestService = Depends(service_of)) -> InfrastructureList:
    ids = sorted(service.store().list_infrastructures())
    return InfrastructureList(infrastructures=ids, infrastuctures=ids)


@router.get("/{infra_id}", response_model=InfrastructureReport, dependencies=READER,
            responses=responses(401, 404, 503), summary="Report an infrastructure's nodes")
def show(infra_id: str,
         live: bool = Query(True, description="ask the clouds (as `occopus-maintain -r`); "
                                              "false: the states the records last gave"),
         service: RestService = Depends(service_of)) -> InfrastructureReport:
    """Each node's instances with their state and address, and its scaling. Live (the
    default), each instance is asked as `occopus-maintain -r` asks it (no lease is taken,
    nothing is written but failing periods): it takes as long as its clouds take."""
    session = service.session()
    static = session.enactor.static(infra_id)          # 404 for an unknown id
    statuses = (session.engine.survey(infra_id, fence=None) if live
                else recorded(session.store, infra_id))
    return InfrastructureReport(report(static, statuses, session.store))


def report(static: StaticDescription, statuses: Sequence[InstanceStatus],
           store: Store) -> dict[str, NodeReport]:
    grouped = by_name(list(statuses))
    nodes = {}
    for name in [*static.nodes, *(name for name in grouped if name not in static.nodes)]:
        group = grouped.get(name, [])
        limits = static.nodes[name]["scaling"] if name in static.nodes else {"min": 0, "max": 0}
        low, high = limits["min"], limits["max"]
        target = current_target(low, high, store.get_target_count(static.infra_id, name))
        nodes[name] = NodeReport(
            instances={status.record.node_id: InstanceReport(
                resource_address=_address(status.record.addresses), state=str(status.state))
                for status in group},
            scaling=ScalingReport(actual=len(group), target=target, min=low, max=high))
    return nodes


def _address(addresses: Sequence[str]) -> str | list[str] | None:
    """The original's `resource_address`: one address, a list of several, or none."""
    if not addresses:
        return None
    return addresses[0] if len(addresses) == 1 else list(addresses)


@router.delete("/{infra_id}", status_code=202, response_model=InfraId, dependencies=WRITER,
               responses=responses(401, 403, 404, 503), summary="Destroy an infrastructure")
def delete(infra_id: str, service: RestService = Depends(service_of)) -> InfraId:
    """Accepted: the daemon detaches it, cancels its pass, drops every node and forgets it
    (`GET .../maintenance` says `destroying` meanwhile)."""
    service.maintainer.destroy(infra_id)      # its destroy mark is the 404 for an unknown id
    return InfraId(infraid=infra_id)


@router.post("/{infra_id}/attach", status_code=202, response_model=InfraId, dependencies=WRITER,
             responses=responses(401, 403, 404, 409, 503), summary="Maintain an infrastructure")
def attach(infra_id: str, service: RestService = Depends(service_of)) -> InfraId:
    """Accepted: the daemon makes a pass of it every interval from now on (409 if it
    already does, or if it is being destroyed)."""
    service.store().get_infrastructure(infra_id)
    if service.maintainer.status(infra_id).destroying:
        raise RestError(409, f"infrastructure '{infra_id}' is being destroyed",
                        hint="submit its description again once it is gone")
    if not service.maintainer.attach(infra_id):
        raise RestError(409, f"infrastructure '{infra_id}' is already being maintained",
                        hint=f"POST /infrastructures/{infra_id}/detach stops that")
    return InfraId(infraid=infra_id)


@router.post("/{infra_id}/detach", response_model=InfraId, dependencies=WRITER,
             responses=responses(401, 403, 404, 409, 503), summary="Stop maintaining it")
def detach(infra_id: str, service: RestService = Depends(service_of)) -> InfraId:
    """No more passes of it (its pass in flight is cancelled); its nodes are left as they
    are. 409 if it was not maintained."""
    service.store().get_infrastructure(infra_id)
    if not service.maintainer.detach(infra_id):
        raise RestError(409, f"infrastructure '{infra_id}' is not maintained",
                        hint=f"POST /infrastructures/{infra_id}/attach maintains it")
    return InfraId(infraid=infra_id)


@router.get("/{infra_id}/cost", response_model=CostReport, dependencies=READER,
            responses=responses(401, 404, 503), summary="The infrastructure's cost")
def cost(infra_id: str, service: RestService = Depends(service_of)) -> CostReport:
    """The original's shape: `totalcost` and each node's instances by node id. No resource
    plugin of this release reports a cost, so every cost is 0 (as the original gave for a
    plugin without cost support)."""
    store = service.store()
    static = stored_description(store, infra_id)
    grouped = by_name(recorded(store, infra_id))
    costs: dict[str, float | dict[str, float]] = {"totalcost": 0.0}
    for name in static.nodes:
        costs[name] = {status.record.node_id: 0.0 for status in grouped.get(name, [])}
    return CostReport(costs)


@router.get("/{infra_id}/maintenance", response_model=MaintenanceReport, dependencies=READER,
            responses=responses(401, 404, 503), summary="How the daemon maintains it")
def maintenance(infra_id: str, service: RestService = Depends(service_of)) -> MaintenanceReport:
    service.store().get_infrastructure(infra_id)
    status = service.maintainer.status(infra_id)
    return MaintenanceReport(infraid=infra_id, **dataclasses.asdict(status))
