"""The local server behind `chainrule serve`: a JSON API (with its OpenAPI description at
/docs) and the static page, in one FastAPI app.

Every number the page shows comes from here: each request builds the network from its document
with netfile.from_dict, runs the engine (step.explain_step, or training), and answers with the
record as plain data, the steps of the stepper and the numbers already written out.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import threading
from importlib import resources
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles

from chainrule import __version__
from chainrule.engine.functions import known
from chainrule.engine.network import Network
from chainrule.errors import ChainruleError
from chainrule.io import netfile
from chainrule.io.data import BUILTIN
from chainrule.record.step import explain_step
from chainrule.train.compiled import loop as fast
from chainrule.views import json as json_view
from chainrule.views.numbers import fmt
from chainrule.web import edits, limits
from chainrule.web.models import DatasetRequest, EditRequest, ExportRequest, StepRequest, TrainRequest
from chainrule.web.steps import drawn, graph, shown, step_count, steps
from chainrule.web.training import boundary, data_loss, train

SOURCE = "network"  # how errors name a document sent by the page


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


def _install_errors(app: FastAPI) -> None:
    @app.middleware("http")
    async def _body_size(request: Request, call_next: Any) -> Any:
        # Refused before the body is read, so a huge upload costs the server nothing.
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limits.MAX_BODY:
            message = f"request: at most {limits.MAX_BODY:,} bytes, got {int(length):,}"
            return JSONResponse({"detail": message}, status_code=413)
        return await call_next(request)

    @app.exception_handler(ChainruleError)
    async def _chainrule_error(request: Request, exc: ChainruleError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _bad_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors()[:3]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
            problems.append(f"{where}: {err.get('msg', 'invalid')}")
        return JSONResponse({"detail": "; ".join(problems)}, status_code=422)


def create_app(initial: Network | None = None) -> FastAPI:
    """The app, serving `initial` (default: the reference example) as the page's first network."""
    start = initial if initial is not None else netfile.load()
    start_doc = netfile.to_dict(start)
    # The compiled training loop takes seconds to build on a fresh install: build it while the
    # user reads the page, not when they first press Train.
    threading.Thread(target=fast.warm_up, name="chainrule-warm-up", daemon=True).start()
    app = FastAPI(
        title="chainrule",
        version=__version__,
        description="Backpropagation, every step shown: the API behind `chainrule serve`.",
    )
    _install_errors(app)
    static = resources.files("chainrule.web") / "static"

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
            },
        }

    @app.post("/api/step", summary="Explain one update step: the record, the stepper's steps, every number")
    def step(body: StepRequest) -> dict[str, Any]:
        return state(build(body.network), body.example, body.digits, body.full_record)

    @app.post("/api/edit", summary="Change the network's shape, an activation or the loss")
    def edit(body: EditRequest) -> dict[str, Any]:
        build(body.network)  # the document must be valid before it is changed
        doc = body.network
        if body.op == "add_neuron":
            doc = edits.add_neuron(doc, body.layer)
        elif body.op == "remove_neuron":
            doc = edits.remove_neuron(doc, body.layer)
        elif body.op == "add_layer":
            doc = edits.add_layer(doc, body.layer)
        elif body.op == "remove_layer":
            doc = edits.remove_layer(doc, body.layer)
        elif body.op == "activation":
            doc = edits.set_activation(doc, body.layer, body.name)
        else:
            doc = edits.set_loss(doc, body.name)
        return state(build(doc), 1, body.digits)

    @app.post("/api/dataset", summary="Use a seeded 2-D data set (xor, circle, gaussians, spirals, moons)")
    def dataset(body: DatasetRequest) -> dict[str, Any]:
        build(body.network)
        doc = edits.use_dataset(body.network, body.name, body.n, body.noise, body.seed)
        return state(build(doc), 1, body.digits)

    @app.post("/api/train", summary="Train for a few epochs; the loss after each, and the new network")
    def train_epochs(body: TrainRequest) -> dict[str, Any]:
        net = build(body.network)
        limits.check_work(body.epochs, net.x.shape[0], net.parameter_count())
        trained, losses = train(net, body.epochs)
        example = min(body.example, len(trained.batches()))
        shown_losses = [fmt(v, body.digits) for v in losses]
        return {
            **state(trained, example, body.digits, body.full_record),
            "losses": losses,
            "losses_shown": shown_losses,
        }

    @app.post("/api/export", summary="The network file (TOML or JSON) or the worked example (text)")
    def export(body: ExportRequest) -> PlainTextResponse:
        text, media, name = _document(build(body.network), body.format, body.example)
        return PlainTextResponse(
            text, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )

    return app
