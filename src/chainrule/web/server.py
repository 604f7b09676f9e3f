"""The local server behind `chainrule serve`: a JSON API (its OpenAPI description at
/openapi.json) and the static page, in one FastAPI app.

Every number the page shows comes from here: each request builds the network from its document
with netfile.from_dict, runs the engine (step.explain_step, or training), and answers with the
record as plain data, the steps of the stepper and the numbers already written out.

No request can keep the server busy: the body is counted as it arrives (web.guards), every
string and size is bounded by the request models (web.models), and the heavy work runs on a
few workers with a time limit, stopped when its client leaves (web.workers).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, PlainTextResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chainrule import __version__
from chainrule.engine.functions import known
from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.io.data import BUILTIN, REGRESSION
from chainrule.train.compiled import loop as fast
from chainrule.views.numbers import fmt_screen
from chainrule.web import edits, limits, problems
from chainrule.web.circuit import circuit
from chainrule.web.explained import build, document, record_of, state
from chainrule.web.features import use_features
from chainrule.web.guards import BodyLimit, HostCheck, SameSite, SecurityHeaders
from chainrule.web.matrixform import matrix_form
from chainrule.web.models import (
    DatasetRequest,
    EditRequest,
    ExportRequest,
    StepRequest,
    StreamRequest,
    TrainRequest,
)
from chainrule.web.problems import parse
from chainrule.web.stream import event, train_stream
from chainrule.web.training import Regime, start_losses, train
from chainrule.web.workers import Job, Workers

T = TypeVar("T")


def create_app(initial: Network | None = None, *, hosts: Iterable[str] = (), workers: Workers | None = None) -> FastAPI:
    """The app, serving `initial` (default: the reference example) as the page's first network.

    `hosts`: names besides localhost, 127.0.0.1 and [::1] that the Host header may give (--host).
    `workers`: who runs the heavy requests (default: limits.WORKERS workers, limits.TIME_LIMIT s).
    """
    start = initial if initial is not None else netfile.load()
    start_doc = netfile.to_dict(start)
    pool = workers or Workers(limits.WORKERS, limits.QUEUE_SECONDS, limits.TIME_LIMIT)
    # The compiled training loop takes seconds to build on a fresh install: build it while the
    # user reads the page, not when they first press Train.
    warming = threading.Thread(target=fast.warm_up, name="chainrule-warm-up", daemon=True)
    warming.start()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        pool.stop_all()  # work in flight stops at its next check, so Ctrl-C is prompt

    app = FastAPI(
        title="chainrule",
        version=__version__,
        description="Backpropagation, every step shown: the API behind `chainrule serve`.",
        docs_url=None,  # the interactive docs load their scripts from a CDN: /openapi.json only
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.workers = pool
    problems.install(app)
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    app.add_middleware(BodyLimit, limit=limits.MAX_BODY, seconds=limits.BODY_SECONDS, pending=limits.PENDING_BODIES)
    app.add_middleware(SameSite, names=tuple(hosts))
    app.add_middleware(HostCheck, names=tuple(hosts))
    app.add_middleware(SecurityHeaders)  # added last: outermost, so every answer carries it
    _routes(app, start_doc, pool, warming)
    return app


def _routes(app: FastAPI, start_doc: dict[str, Any], pool: Workers, warming: threading.Thread) -> None:
    static = resources.files("chainrule.web") / "static"

    async def heavy(request: Request, work: Callable[[Job], T]) -> T:
        """`work` on a worker; the body is read here but parsed there, so that a request refused
        (the workers busy, the client gone) costs the event loop nothing but its bytes."""
        return await pool.run(request.is_disconnected, work)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(str(static / "index.html"), media_type="text/html")

    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/api/network", summary="The network this server was started with, as a document")
    async def initial_network() -> dict[str, Any]:  # async: light work stays off the thread pool
        return {"network": start_doc}

    @app.get("/api/choices", summary="Activations, losses, data sets and the size limits")
    async def choices() -> dict[str, Any]:
        return {
            "activations": known("activation"),
            "losses": known("loss"),
            "datasets": list(BUILTIN),
            "regression_datasets": list(REGRESSION),
            "inits": ["uniform", "xavier", "he", "zeros"],
            "limits": {
                "parameters": limits.MAX_PARAMETERS,
                "epochs_per_request": limits.MAX_EPOCHS,
                "examples": limits.MAX_EXAMPLES,
                "name_length": limits.MAX_NAME,
                "seconds_per_request": pool.time_limit,
            },
        }

    @app.post(
        "/api/step",
        summary="Explain one update step: the record, the stepper's steps, every number",
        **takes(StepRequest),
    )
    async def step(request: Request) -> dict[str, Any]:
        raw = await request.body()

        def work(job: Job) -> dict[str, Any]:
            body = parse(StepRequest, raw)
            net = build(body.network.document())
            answer = state(net, body.example, body.digits, body.full_record, body.at, body.test_fraction)
            return {**answer, "version": body.version}

        return await heavy(request, work)

    @app.post(
        "/api/views",
        summary="The update in matrix form (entries named) and as a computational graph to step backward",
        **takes(StepRequest),
    )
    async def views(request: Request) -> dict[str, Any]:
        raw = await request.body()

        def work(job: Job) -> dict[str, Any]:
            body = parse(StepRequest, raw)
            net = build(body.network.document())
            record, _ = record_of(net, body.example)
            digits = body.digits
            return {
                "matrix": matrix_form(record, net.parameter_count(), digits),
                "circuit": circuit(record, digits),
                "version": body.version,
            }

        return await heavy(request, work)

    @app.post("/api/edit", summary="Change the network's shape, an activation or the loss", **takes(EditRequest))
    async def edit(request: Request) -> dict[str, Any]:
        raw = await request.body()

        def work(job: Job) -> dict[str, Any]:
            body = parse(EditRequest, raw)
            answer = state(build(edited(body)), 1, body.digits, at=body.at, held=body.test_fraction)
            return {**answer, "version": body.version}

        return await heavy(request, work)

    @app.post(
        "/api/dataset",
        summary="Use a seeded 2-D data set (classes or regression), or your own rows x1, x2, y as CSV",
        **takes(DatasetRequest),
    )
    async def dataset(request: Request) -> dict[str, Any]:
        raw = await request.body()

        def work(job: Job) -> dict[str, Any]:
            body = parse(DatasetRequest, raw)
            doc = netfile.to_dict(build(body.network.document()))  # valid, and every weight written out
            if body.name == "csv":
                changed = edits.use_csv(doc, body.csv, limits.MAX_EXAMPLES)
            else:
                changed = edits.use_dataset(doc, body.name, body.n, body.noise, body.seed)
            answer = state(build(changed), 1, body.digits, at=body.at, held=body.test_fraction)
            return {**answer, "version": body.version}

        return await heavy(request, work)

    @app.post(
        "/api/train", summary="Train for a few epochs; the loss after each, and the new network", **takes(TrainRequest)
    )
    async def train_epochs(request: Request) -> dict[str, Any]:
        raw = await request.body()

        def work(job: Job) -> dict[str, Any]:
            body = parse(TrainRequest, raw)
            with job.off_the_clock():  # the first training waits for the compiled loop, not counted
                warming.join()
            return trained(body, job)

        return await heavy(request, work)

    @app.post(
        "/api/train/stream",
        summary="Train until stopped: server-sent events, each the losses of the epochs since the last and the network",
        **takes(StreamRequest, "text/event-stream"),
    )
    async def train_stream_route(request: Request) -> StreamingResponse:
        raw = await request.body()

        def check(job: Job) -> tuple[StreamRequest, Network]:
            body = parse(StreamRequest, raw)
            with job.off_the_clock():  # the first training waits for the compiled loop, not counted
                warming.join()
            return body, build(body.network.document())

        body, net = await heavy(request, check)  # a bad request is answered 422 before the stream starts
        regime = Regime(body.test_fraction, body.l1, body.l2)

        def work(job: Job, emit: Callable[[dict[str, Any]], None]) -> None:
            train_stream(net, body.epochs, regime, body.digits, job.check, emit)

        async def events() -> AsyncIterator[bytes]:
            async for item in pool.stream(request.is_disconnected, work):
                yield event({**item, "version": body.version})

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    @app.post(
        "/api/export", summary="The network file (TOML or JSON) or the worked example (text)", **takes(ExportRequest)
    )
    async def export(request: Request) -> Response:
        raw = await request.body()

        def work(job: Job) -> tuple[str, str, str]:
            body = parse(ExportRequest, raw)
            return document(build(body.network.document()), body.format, body.example)

        text, media, name = await heavy(request, work)
        return PlainTextResponse(
            text, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )


MODELS = (StepRequest, EditRequest, DatasetRequest, TrainRequest, StreamRequest, ExportRequest)


def takes(model: type[BaseModel], answers: str | None = None) -> dict[str, Any]:
    """The route's OpenAPI request body: `model`, read by the route itself (see `heavy`); with
    `answers`, the media type of its successful answer."""
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    extra: dict[str, Any] = {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
    if answers:
        extra["responses"] = {"200": {"description": "Successful answer", "content": {answers: {}}}}
    return {"openapi_extra": extra}


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """FastAPI's OpenAPI description with the request models (and the models they use) added."""

    def described() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            _, defs = models_json_schema(
                [(m, "validation") for m in MODELS], ref_template="#/components/schemas/{model}"
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
            app.openapi_schema = schema
        return app.openapi_schema

    return described


EDITS: dict[str, Callable[[dict[str, Any], int], dict[str, Any]]] = {
    "add_neuron": edits.add_neuron,
    "remove_neuron": edits.remove_neuron,
    "add_layer": edits.add_layer,
    "remove_layer": edits.remove_layer,
}


def edited(body: EditRequest) -> dict[str, Any]:
    """The request's document with its edit made (the document must be valid first)."""
    doc = netfile.to_dict(build(body.network.document()))  # valid, and every weight written out
    if body.op in EDITS:
        return edits.retitled(doc, EDITS[body.op](doc, body.layer))
    if body.op == "activation":
        return edits.set_activation(doc, body.layer, body.name)
    if body.op == "init":
        return edits.initialise(doc, body.name)
    if body.op == "features":
        chosen = [name.strip() for name in body.name.split(",") if name.strip()]
        return edits.retitled(doc, use_features(doc, chosen, edits.rng_of(doc)))
    return edits.set_loss(doc, body.name)


def trained(body: TrainRequest, job: Job) -> dict[str, Any]:
    """Train the request's network for its epochs (stopping when `job` is stopped); the new state."""
    net = build(body.network.document())
    limits.check_work(body.epochs, net.x.shape[0], net.parameter_count())
    regime = Regime(body.test_fraction, body.l1, body.l2)
    first, first_test = start_losses(net, regime)
    after, losses, tested = train(net, body.epochs, job.check, regime)
    example = min(body.example, len(after.batches()))
    return {
        **state(after, example, body.digits, body.full_record, body.at, body.test_fraction),
        "version": body.version,
        "losses": losses,
        "losses_shown": [fmt_screen(v, body.digits) for v in losses],
        "test_losses": tested,
        "test_losses_shown": [fmt_screen(v, body.digits) for v in tested],
        "start": {"loss": first, "test_loss": first_test, "losses_shown": [fmt_screen(first, body.digits)]},
    }
