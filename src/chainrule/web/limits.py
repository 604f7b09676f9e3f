"""What one request may ask of the server: sizes checked before anything is built or run.

A network file from the page is checked here first, so that a huge size is answered with a clear
message at once instead of the server allocating (or training) it for minutes.
"""

from __future__ import annotations

from typing import Any

from chainrule.errors import ChainruleError

MAX_BODY = 5_000_000  # bytes of one request: a 10,000-parameter network with its data is far less
MAX_PARAMETERS = 10_000
MAX_LAYERS = 20
MAX_EXAMPLES = 2_000
MAX_EPOCHS = 1_000  # per request: the page asks again for more
MAX_STREAM_EPOCHS = 1_000_000  # per stream (/api/train/stream), which also ends after stream.STREAM_SECONDS
MAX_EXPLAINED = 50_000  # parameters × examples in one explained update (a chain each)
MAX_WORK = 20_000_000  # epochs × examples × parameters per training request (≈ a second or two)
MAX_NAME = 64  # characters of a name (layer, input, weight, bias): names are written out many times
MAX_TITLE = 200  # characters of a title
MAX_CSV = 200_000  # characters of data pasted or uploaded on the page (2,000 rows of three numbers fit)
MAX_FILE_EPOCHS = 1_000_000  # training.epochs in a document (the page trains per request, not by it)
CHUNK_WORK = 1_000_000  # epochs × examples × parameters trained between looks at the clock and the client
WORKERS = 2  # heavy requests (step, edit, dataset, train, export) running at once; more wait or get 503
QUEUE_SECONDS = 2.0  # how long a heavy request waits for a worker before the answer is 503
TIME_LIMIT = 30.0  # seconds one heavy request may run before it is stopped (answered 503)
BODY_SECONDS = 10.0  # a request's whole body must arrive within this (then 408): a stalled upload lets go
PENDING_BODIES = 4 * MAX_BODY  # bytes of bodies being received at once, over all requests (then 503)


class RequestTooLarge(ChainruleError):
    """A request the server refuses for its size (answered 422 with the message)."""


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, list):
        return len(value)
    return None


def parameter_count(doc: dict[str, Any]) -> int:
    """Weights and biases the document describes, read from its sizes alone (0 where unclear).

    The exact validation is netfile.from_dict's; this only has to be cheap and never too low for
    a document that from_dict would accept.
    """
    fan_in = _count(doc.get("inputs")) or 0
    if fan_in > MAX_PARAMETERS:
        raise RequestTooLarge(f"inputs: at most {MAX_PARAMETERS:,} inputs here, got {fan_in:,}")
    layers = doc.get("layers")
    if not isinstance(layers, list):
        return 0
    if len(layers) > MAX_LAYERS:
        raise RequestTooLarge(f"layers: at most {MAX_LAYERS} layers here, got {len(layers)}")
    total = 0
    for layer in layers:
        if not isinstance(layer, dict):
            return total
        units = _count(layer.get("units")) or _count(layer.get("weights")) or 0
        total += units * (fan_in + 1)
        fan_in = units
    return total


def check_network(doc: dict[str, Any]) -> None:
    """Refuse networks too large for interactive use before building them."""
    count = parameter_count(doc)
    if count > MAX_PARAMETERS:
        raise RequestTooLarge(
            f"network: at most {MAX_PARAMETERS:,} parameters for the interactive page, this one has about {count:,}"
        )
    examples = doc.get("examples")
    if isinstance(examples, list) and len(examples) > MAX_EXAMPLES:
        raise RequestTooLarge(f"examples: at most {MAX_EXAMPLES:,} examples here, got {len(examples):,}")


def check_work(epochs: int, examples: int, parameters: int) -> None:
    """Refuse a training request that would keep the server busy for long."""
    work = epochs * max(examples, 1) * max(parameters, 1)
    if work > MAX_WORK:
        most = max(1, MAX_WORK // (max(examples, 1) * max(parameters, 1)))
        raise RequestTooLarge(f"epochs: at most {most} epochs per request for this network and data, got {epochs}")
