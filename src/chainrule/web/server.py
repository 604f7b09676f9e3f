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

import copy
import dataclasses
import json
import math
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any, TypeVar

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles

from chainrule import __version__
from chainrule.engine.functions import known
from chainrule.engine.network import Network
from chainrule.errors import ChainruleError, describe
from chainrule.io import netfile
from chainrule.io.data import BUILTIN
from chainrule.record.step import explain_step
from chainrule.train.compiled import loop as fast
from chainrule.views import json as json_view
from chainrule.views.numbers import fmt
from chainrule.web import edits, limits
from chainrule.web.guards import BodyLimit, HostCheck, SecurityHeaders
from chainrule.web.models import DatasetRequest, EditRequest, ExportRequest, StepRequest, TrainRequest
from chainrule.web.steps import drawn, graph, shown, step_count, steps
from chainrule.web.training import boundary, data_loss, train
from chainrule.web.workers import Busy, Job, Stopped, Workers

SOURCE = "network"  # how errors name a document sent by the page
T = TypeVar("T")


def build(doc: dict[str, Any]) -> Network:
    """A validated network from a request's document, refused early when too large."""
    limits.check_network(doc)
    return netfile.from_dict(doc, source=SOURCE)


def state(net: Network, example: int = 1, digits: int = 4, full: bool = False) -> dict[str, Any]:
    """Everything the page shows for a network: its document, the step record, the steps.

    The record's every value and chain (views.json) come only when `full` is asked for: the page
    needs the values of one example, and a large batch has a great many more.
    """
    explained, notice = _explained(net, example)
    with np.errstate(all="ignore"):
        record = explain_step(explained, example - 1 if explained is net else int(net.batches()[example - 1][0]))
    bad = [name for name, v in record.values.items() if not math.isfinite(v)]
    if bad:
        raise ChainruleError(f"{bad[0]}: the numbers overflowed (not finite); try smaller weights or learning rate")
    record_doc = json_view.to_dict(record)
    values = record.values if full else drawn(record)
    if not full:
        del record_doc["values"], record_doc["chains"]
    return {
        "network": netfile.to_dict(net),
        "record": record_doc,
        "shown": shown(values, digits),
        "exact": {name: repr(v) for name, v in values.items()},
        "step_count": step_count(record),
        "steps": steps(record, digits),
        "graph": graph(record),
        "parameters": net.parameter_count(),
        "updates_per_epoch": len(net.batches()),
        "notice": notice,
        "example": example,
        "data_loss": data_loss(net) if record.examples else None,
        "boundary": boundary(net),
    }


def _explained(net: Network, example: int) -> tuple[Network, str]:
    """The network whose step the page explains, and why it is not `net` when it is not.

    An update of many examples on a large network has a chain for every parameter and example,
    more than a page can show or a request should build: then the page explains the update's
    first example alone (as an online step) and says so. Training still uses the whole batch.
    """
    batches = net.batches()
    if not 1 <= example <= len(batches):
        raise ChainruleError(f"example: expected 1 to {len(batches)} (the updates in one epoch), got {example}")
    batch = batches[example - 1]
    if len(batch) == 1 or net.parameter_count() * len(batch) <= limits.MAX_EXPLAINED:
        return net, ""
    one = copy.copy(net)
    one.training = dataclasses.replace(net.training, batch="online")
    first = int(batch[0]) + 1
    notice = (
        f"Update {example} has {len(batch)} examples × {net.parameter_count():,} parameters: too many chains to "
        f"show, so this explains example {first} alone, as an online step. Training uses the whole batch."
    )
    return one, notice


def _document(net: Network, fmt: str, example: int) -> tuple[str, str, str]:
    """(text, media type, file name) of a download."""
    doc = netfile.to_dict(net)
    if fmt == "toml":
        return netfile.dumps_toml(doc), "application/toml", "network.toml"
    if fmt == "json":
        return json.dumps(doc, indent=2) + "\n", "application/json", "network.json"
    with np.errstate(all="ignore"):
        record = explain_step(net, example - 1)
    if fmt == "html":
        from chainrule.views import html

        return html.render([record]), "text/html; charset=utf-8", "worked-example.html"
    if fmt == "markdown":
        from chainrule.views import markdown

        return markdown.render([record]), "text/markdown; charset=utf-8", "worked-example.md"
    from rich.console import Console

    from chainrule.views import text

    console = Console(record=True, highlight=False, width=100, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(text.render(record))
    return console.export_text(), "text/plain; charset=utf-8", "worked-example.txt"


_TYPE_TAGS = {"float", "int", "str", "bool"}  # union members pydantic puts in an error's location


def _key(loc: Iterable[Any]) -> str:
    """An error's location as netfile writes keys: "network: layers[0].weights[1]" ("body" dropped)."""
    parts = [p for p in loc if isinstance(p, int) or (p.isidentifier() and p not in _TYPE_TAGS and p != "body")]
    if not parts:
        return "body"
    key = ""
    for part in parts[1:]:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return f"{parts[0]}: {key}" if key else str(parts[0])


def validation_message(error: dict[str, Any]) -> str:
    """One pydantic error as one line: the key, what was expected, what came."""
    kind, ctx, value = error.get("type", ""), error.get("ctx") or {}, error.get("input")
    where = _key(error["loc"])
    if kind == "missing":
        return f"{where}: expected a value, got nothing (the key is missing)"
    if kind == "extra_forbidden":
        return f"{where}: expected a known key, got an unknown key"
    if kind in ("too_long", "too_short") and isinstance(value, str | list):
        unit = "characters" if isinstance(value, str) else "items"
        most = f"at most {ctx.get('max_length', 0):,}" if kind == "too_long" else f"at least {ctx.get('min_length', 0)}"
        return f"{where}: expected {most} {unit}, got {len(value):,}"
    if kind in ("less_than_equal", "greater_than_equal"):
        bound = f"at most {ctx.get('le')}" if kind == "less_than_equal" else f"at least {ctx.get('ge')}"
        return f"{where}: expected {bound}, got {describe(value)}"
    message = str(error.get("msg", "")).removeprefix("Value error, ").removeprefix("Input should be ")
    expected = message[0].lower() + message[1:] if message else "a valid value"
    return f"{where}: expected {expected}, got {describe(value)}"


def _one_line(detail: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error answer: {"detail": one line}, writable whatever the request held (a lone surrogate)."""
    line = " ".join(detail.split()).encode("utf-8", "backslashreplace").decode("utf-8")
    return JSONResponse({"detail": line}, status_code=status, headers=headers)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(ChainruleError)
    async def _chainrule_error(request: Request, exc: ChainruleError) -> JSONResponse:
        if isinstance(exc, Busy):
            return _one_line(str(exc), 503, {"Retry-After": "1"})
        return _one_line(str(exc), 503 if isinstance(exc, Stopped) else 422)

    @app.exception_handler(RequestValidationError)
    async def _bad_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if errors and errors[0].get("type") == "json_invalid":
            return _one_line(f"body: expected JSON ({errors[0].get('ctx', {}).get('error', 'invalid')})", 422)
        # A union (a number or a list) fails once per member: the member of the value's own type
        # says what is wrong with it, where the others only say "not a list".
        first = next((e for e in errors if not str(e.get("type", "")).endswith("_type")), errors[0] if errors else None)
        return _one_line(validation_message(first) if first else "body: invalid", 422)


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
    _install_errors(app)
    app.add_middleware(BodyLimit, limit=limits.MAX_BODY)
    app.add_middleware(HostCheck, names=tuple(hosts))
    app.add_middleware(SecurityHeaders)  # added last: outermost, so every answer carries it
    _routes(app, start_doc, pool, warming)
    return app


def _routes(app: FastAPI, start_doc: dict[str, Any], pool: Workers, warming: threading.Thread) -> None:
    static = resources.files("chainrule.web") / "static"

    async def heavy(request: Request, work: Callable[[Job], T]) -> T:
        return await pool.run(request.is_disconnected, work)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(str(static / "index.html"), media_type="text/html")

    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/api/network", summary="The network this server was started with, as a document")
    def initial_network() -> dict[str, Any]:
        return {"network": start_doc}

    @app.get("/api/choices", summary="Activations, losses, data sets and the size limits")
    def choices() -> dict[str, Any]:
        return {
            "activations": known("activation"),
            "losses": known("loss"),
            "datasets": list(BUILTIN),
            "limits": {
                "parameters": limits.MAX_PARAMETERS,
                "epochs_per_request": limits.MAX_EPOCHS,
                "examples": limits.MAX_EXAMPLES,
                "name_length": limits.MAX_NAME,
                "seconds_per_request": pool.time_limit,
            },
        }

    @app.post("/api/step", summary="Explain one update step: the record, the stepper's steps, every number")
    async def step(body: StepRequest, request: Request) -> dict[str, Any]:
        doc = body.network.document()
        return await heavy(request, lambda job: state(build(doc), body.example, body.digits, body.full_record))

    @app.post("/api/edit", summary="Change the network's shape, an activation or the loss")
    async def edit(body: EditRequest, request: Request) -> dict[str, Any]:
        return await heavy(request, lambda job: state(build(edited(body)), 1, body.digits))

    @app.post("/api/dataset", summary="Use a seeded 2-D data set (xor, circle, gaussians, spirals, moons)")
    async def dataset(body: DatasetRequest, request: Request) -> dict[str, Any]:
        def work(job: Job) -> dict[str, Any]:
            doc = body.network.document()
            build(doc)  # the document must be valid before it is changed
            changed = edits.use_dataset(doc, body.name, body.n, body.noise, body.seed)
            return state(build(changed), 1, body.digits)

        return await heavy(request, work)

    @app.post("/api/train", summary="Train for a few epochs; the loss after each, and the new network")
    async def train_epochs(body: TrainRequest, request: Request) -> dict[str, Any]:
        def work(job: Job) -> dict[str, Any]:
            warming.join()  # the first training waits for the compiled loop; its time limit starts after
            job.restart_clock()
            return trained(body, job)

        return await heavy(request, work)

    @app.post("/api/export", summary="The network file (TOML or JSON) or the worked example (text)")
    async def export(body: ExportRequest, request: Request) -> Response:
        doc = body.network.document()
        text, media, name = await heavy(request, lambda job: _document(build(doc), body.format, body.example))
        return PlainTextResponse(
            text, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )


EDITS: dict[str, Callable[[dict[str, Any], int], dict[str, Any]]] = {
    "add_neuron": edits.add_neuron,
    "remove_neuron": edits.remove_neuron,
    "add_layer": edits.add_layer,
    "remove_layer": edits.remove_layer,
}


def edited(body: EditRequest) -> dict[str, Any]:
    """The request's document with its edit made (the document must be valid first)."""
    doc = body.network.document()
    build(doc)
    if body.op in EDITS:
        return EDITS[body.op](doc, body.layer)
    if body.op == "activation":
        return edits.set_activation(doc, body.layer, body.name)
    return edits.set_loss(doc, body.name)


def trained(body: TrainRequest, job: Job) -> dict[str, Any]:
    """Train the request's network for its epochs (stopping when `job` is stopped); the new state."""
    net = build(body.network.document())
    limits.check_work(body.epochs, net.x.shape[0], net.parameter_count())
    after, losses = train(net, body.epochs, job.check)
    example = min(body.example, len(after.batches()))
    return {
        **state(after, example, body.digits, body.full_record),
        "losses": losses,
        "losses_shown": [fmt(v, body.digits) for v in losses],
    }
