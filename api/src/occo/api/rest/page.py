"""The status page: a read-only view of the infrastructures, served by the service itself.

The page (static/index.html, page.js, page.css) holds no data, so it is served
without a token; its script asks for one and sends it on every request to the
API. Its three files are served by plain routes rather than a mounted
StaticFiles app, so the application needs nothing but this router, and no
other file of the package can be asked for. They are kept out of the OpenAPI
document, which describes the API.

The page draws each infrastructure's dependency graph from
`GET /infrastructures/{id}/graph`, defined here: the nodes and dependencies of
its stored static description, which the original's routes never showed.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel, Field

from occo.compiler import StaticDescription
from occo.enactor.description import stored_description

from .auth import require_reader
from .errors import RestError, responses
from .service import RestService, service_of

STATIC = Path(__file__).with_name("static")

# the page's files, by the name the page asks for, with their media type
FILES = {
    "page.js": "text/javascript; charset=utf-8",
    "page.css": "text/css; charset=utf-8",
}

# The page runs its own script only, talks to its own origin only, and is never framed:
# data shown on it that looks like markup could not run even if it were parsed as such.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter()


class GraphNode(BaseModel):
    name: str
    type: str = Field(description="the node type (its `node_def:` in the node definitions)")
    level: int = Field(description="its dependency level: 0 waits for no node, a node of "
                                   "level n waits only for nodes of lower levels")
    min: int = Field(description="the fewest instances the node may have")
    max: int = Field(description="the most instances the node may have")


class DependencyGraph(BaseModel):
    """An infrastructure's nodes and what each waits for, from its stored description."""

    infra_id: str
    name: str = Field(description="the infrastructure's name (`infra_name`)")
    nodes: list[GraphNode] = Field(description="in the description's order")
    dependencies: list[tuple[str, str]] = Field(
        description="[dependent, dependee] pairs: the dependent starts when its dependees "
                    "are ready")


def dependency_graph(static: StaticDescription) -> DependencyGraph:
    """The graph of a compiled description: each node with its level and scaling bounds."""
    level_of = {name: level for level, names in enumerate(static.levels) for name in names}
    nodes = [GraphNode(name=name, type=str(node["type"]), level=level_of.get(name, 0),
                       min=int(node["scaling"]["min"]), max=int(node["scaling"]["max"]))
             for name, node in static.nodes.items()]
    return DependencyGraph(infra_id=static.infra_id, name=static.name, nodes=nodes,
                           dependencies=[(dependent, dependee)
                                         for dependent, dependee in static.dependencies])


@router.get("/infrastructures/{infra_id}/graph", response_model=DependencyGraph,
            dependencies=[Depends(require_reader)], responses=responses(401, 404, 503),
            tags=["infrastructures"], summary="The dependency graph of an infrastructure")
def graph(infra_id: str, service: RestService = Depends(service_of)) -> DependencyGraph:
    return dependency_graph(stored_description(service.store(), infra_id))


def _page() -> Response:
    return Response((STATIC / "index.html").read_bytes(), media_type="text/html; charset=utf-8",
                    headers=PAGE_HEADERS)


@router.get("/", include_in_schema=False)
def index() -> Response:
    return _page()


@router.get("/status", include_in_schema=False)
def status() -> Response:
    return _page()


@router.get("/static/{name}", include_in_schema=False)
def static_file(name: str) -> Response:
    media_type = FILES.get(name)
    if media_type is None:
        raise RestError(404, f"no file {name!r} on the status page",
                        hint="the page's files are " + ", ".join(sorted(FILES)))
    return Response((STATIC / name).read_bytes(), media_type=media_type,
                    headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})
