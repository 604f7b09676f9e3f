"""What the page shows of a network: the explained update (its record, values and steps), and
the documents it downloads. Every number here is the engine's (record.step.explain_step).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from typing import Any

import numpy as np

from chainrule.engine.network import Network
from chainrule.errors import ChainruleError
from chainrule.io import netfile
from chainrule.record.step import StepRecord, advanced, explain_step
from chainrule.views import json as json_view
from chainrule.web import limits
from chainrule.web.pairs import valid_choices
from chainrule.web.steps import drawn, graph, shown, step_at, step_count, steps
from chainrule.web.training import boundary, data_loss

SOURCE = "network"  # how errors name a document sent by the page


def build(doc: dict[str, Any]) -> Network:
    """A validated network from a request's document, refused early when too large."""
    limits.check_network(doc)
    return netfile.from_dict(doc, source=SOURCE)


def state(
    net: Network, example: int = 1, digits: int = 4, full: bool = False, at: int | None = None, held: float = 0.0
) -> dict[str, Any]:
    """Everything the page shows for a network: its document, the step record, the steps.

    The record's every value and chain (views.json) come only when `full` is asked for: the page
    needs the values of one example, and a large batch has a great many more. With `at`, only
    that step is written out (`step`; the page asks for each as it is shown), else every step
    (`steps`, at most steps.MAX_STEPS). `held`: the share of examples held out as a test set,
    marked in the boundary's points.
    """
    record, notice = record_of(net, example)
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
        **({"steps": steps(record, digits)} if at is None else {"step": step_at(record, at, digits), "at": at}),
        "graph": graph(record),
        "parameters": net.parameter_count(),
        "updates_per_epoch": len(net.batches()),
        "notice": notice,
        "example": example,
        "data_loss": data_loss(net) if record.examples else None,
        "boundary": boundary(net, held),
        "valid": valid_choices(net),
    }


def record_of(net: Network, example: int) -> tuple[StepRecord, str]:
    """The record of update `example` as training makes it: after the updates before it (as `--example`)."""
    explained, notice = explained_net(net, example)
    with np.errstate(all="ignore"):
        before = advanced(explained if explained is net else net, example - 1)
        if explained is net:
            return explain_step(before, example - 1), notice
        one = copy.copy(before)
        one.training = explained.training
        return explain_step(one, int(net.batches()[example - 1][0])), notice


def explained_net(net: Network, example: int) -> tuple[Network, str]:
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


def document(net: Network, fmt: str, example: int) -> tuple[str, str, str]:
    """(text, media type, file name) of a download."""
    doc = netfile.to_dict(net)
    if fmt == "toml":
        return netfile.dumps_toml(doc), "application/toml", "network.toml"
    if fmt == "json":
        return json.dumps(doc, indent=2) + "\n", "application/json", "network.json"
    record, _ = record_of(net, example)
    if fmt == "html":
        from chainrule.views import html

        return html.render([record]), "text/html; charset=utf-8", "worked-example.html"
    if fmt == "markdown":
        from chainrule.views import markdown

        return markdown.render([record]), "text/markdown; charset=utf-8", "worked-example.md"
    from chainrule.views import text

    return text.plain_text(text.render(record)), "text/plain; charset=utf-8", "worked-example.txt"
