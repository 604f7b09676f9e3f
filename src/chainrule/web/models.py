"""The API's request bodies, typed down to every number (pydantic: they are the OpenAPI schemas).

The network document is described key by key, as the network file's schema, with a bound on
every string and every size: what a request may cost is decided here, before anything runs
(web.limits holds the numbers). pydantic refuses a lone surrogate ("\\ud800") in any string, so
every string here can be written out as UTF-8. netfile.from_dict then checks what a schema cannot say (shapes
that agree, unique names), with its own messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints, model_validator

from chainrule.engine.functions import ACTIVATIONS, LOSSES
from chainrule.io.data import BUILTIN, REGRESSION
from chainrule.web import limits

Name = Annotated[str, StringConstraints(min_length=1, max_length=limits.MAX_NAME)]
Title = Annotated[str, StringConstraints(max_length=limits.MAX_TITLE)]
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Count = Annotated[int, Strict(), Field(ge=1, le=limits.MAX_PARAMETERS)]
Numbers = Annotated[list[Number], Field(max_length=limits.MAX_PARAMETERS)]
Names = Annotated[list[Name], Field(max_length=limits.MAX_PARAMETERS)]
Vector = Number | Numbers
if TYPE_CHECKING:  # the names are known only when the engine is loaded: plain strings to mypy
    Activation = str
    Loss = str
    DatasetName = str
else:
    Activation = Literal[tuple(sorted(ACTIVATIONS))]
    Loss = Literal[tuple(sorted(LOSSES))]
    DatasetName = Literal[(*BUILTIN, *REGRESSION, "csv")]
Init = Literal["uniform", "xavier", "he", "zeros"]


class Strict_(BaseModel):
    """A table of the network file: unknown keys are errors, as in a file."""

    model_config = ConfigDict(extra="forbid")


class Layer(Strict_):
    """A layer: its neuron count is `units`, or the rows of its `weights` (one of them is required)."""

    # The schema says what the server requires: units, or weights to count the neurons by.
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"anyOf": [{"required": ["units"]}, {"required": ["weights"]}]}
    )

    type: Literal["dense"] | None = Field(
        None, description="dense only: the page works fully connected networks (shaped ones: the command line)."
    )
    name: Name | None = Field(None, description="Neurons are name1, name2, ...; a one-neuron layer is the name.")
    units: Count | None = Field(None, description="Neurons; may be left out when weights are given.")
    activation: Activation
    alpha: Number | None = Field(None, description="leaky_relu, elu: the fixed α; prelu: the starting α.")
    weights: Annotated[list[Numbers], Field(max_length=limits.MAX_PARAMETERS)] | None = Field(
        None, description="One row per neuron, one column per neuron of the layer before; absent: random."
    )
    bias: Vector | None = Field(None, description="A number: shared by the layer; a list: one per neuron.")
    weight_names: Names | Annotated[list[Names], Field(max_length=limits.MAX_PARAMETERS)] | None = None
    bias_names: Name | Names | None = None

    @model_validator(mode="after")
    def _counted(self) -> Layer:
        if self.units is None and not self.weights:
            raise ValueError("units (the number of neurons), or weights with one row per neuron")
        return self


class Example(Strict_):
    x: Vector = Field(description="One number per input.")
    y: Vector = Field(description="One number per output neuron (a bare number for one).")


class Training(Strict_):
    learning_rate: Annotated[float, Strict(), Field(gt=0, allow_inf_nan=False)] | None = None
    batch: Literal["online", "full"] | Annotated[int, Strict(), Field(ge=1, le=limits.MAX_EXAMPLES)] | None = None
    reduction: Literal["sum", "mean"] | None = None
    freeze: Names | None = Field(None, description="Parameter names never updated.")
    epochs: Annotated[int, Strict(), Field(ge=1, le=limits.MAX_FILE_EPOCHS)] | None = None
    seed: Annotated[int, Strict(), Field(ge=0, le=2**63 - 1)] | None = None
    dtype: Literal["float64", "float32"] | None = None
    # The optimizer and its constants (io.netparts checks which optimizer reads which).
    optimizer: Literal["sgd", "momentum", "nesterov", "rmsprop", "adam"] | None = None
    momentum: Annotated[float, Strict(), Field(ge=0, lt=1, allow_inf_nan=False)] | None = None
    beta1: Annotated[float, Strict(), Field(ge=0, lt=1, allow_inf_nan=False)] | None = None
    beta2: Annotated[float, Strict(), Field(ge=0, lt=1, allow_inf_nan=False)] | None = None
    rho: Annotated[float, Strict(), Field(ge=0, lt=1, allow_inf_nan=False)] | None = None
    eps: Annotated[float, Strict(), Field(gt=0, allow_inf_nan=False)] | None = None


class DataInfo(Strict_):
    columns: Names | None = None
    target: Name | None = None
    classes: Names | None = None
    mean: Numbers | None = None
    std: Numbers | None = None


class NetworkDocument(Strict_):
    """A network file (TOML or JSON) as JSON: see docs/network-file.md."""

    title: Title | None = None
    inputs: Names | Count = Field(description="The input names, or their count (named x1, x2, ...).")
    loss: Loss | None = None
    layers: Annotated[list[Layer], Field(min_length=1, max_length=limits.MAX_LAYERS)]
    examples: Annotated[list[Example], Field(max_length=limits.MAX_EXAMPLES)] | None = None
    training: Training | None = None
    data: DataInfo | None = None

    def document(self) -> dict[str, Any]:
        """The plain document netfile reads: only the keys given (null is the same as absent)."""
        doc: dict[str, Any] = self.model_dump(exclude_none=True)
        return doc


NETWORK_DOC = "A network document: a chainrule network file (TOML or JSON), as JSON."


class StepRequest(BaseModel):
    network: NetworkDocument = Field(description=NETWORK_DOC)
    example: int = Field(1, ge=1, le=limits.MAX_EXAMPLES, description="Which update of the epoch (1-based).")
    digits: int = Field(4, ge=1, le=15, description="Decimal places shown; the exact values are sent too.")
    full_record: bool = Field(
        False, description="Include the whole step record (every value of every example, every chain; views.json)."
    )
    at: int | None = Field(
        None,
        ge=0,
        le=10**9,
        description="Write out only this step of the stepper (1-based; 0: none) as `step`; absent: every step as `steps`.",
    )
    version: int = Field(
        0, ge=0, le=2**53, description="The page's count of its changes, sent back as is: an older answer is dropped."
    )
    test_fraction: float = Field(
        0.0, ge=0.0, le=0.5, description="Share of the examples held out (seeded by training.seed) as a test set."
    )


class TrainRequest(StepRequest):
    epochs: int = Field(
        1, ge=1, le=limits.MAX_EPOCHS, description=f"Epochs to run in this request (at most {limits.MAX_EPOCHS})."
    )
    l1: float = Field(0.0, ge=0.0, le=1.0, description="L1 penalty λ₁ Σ|θ| added to the loss.")
    l2: float = Field(0.0, ge=0.0, le=1.0, description="L2 penalty (λ/2) Σθ² added to the loss (weight decay λ).")


class StreamRequest(TrainRequest):
    epochs: int = Field(
        limits.MAX_STREAM_EPOCHS,
        ge=1,
        le=limits.MAX_STREAM_EPOCHS,
        description="Epochs to stream at most; a stream also ends after a few seconds (ask again to go on).",
    )


class EditRequest(StepRequest):
    op: Literal["add_neuron", "remove_neuron", "add_layer", "remove_layer", "activation", "loss", "init", "features"]
    layer: int = Field(0, ge=0, le=limits.MAX_LAYERS, description="The layer (0 = the first after the inputs).")
    name: Annotated[str, StringConstraints(max_length=limits.MAX_NAME)] = Field(
        "",
        description="The activation or loss (op activation, loss), uniform, xavier, he or zeros (op init), or"
        " the inputs, comma-separated, from x1, x2, x1², x2², x1·x2, sin x1, sin x2 (op features).",
    )


class DatasetRequest(StepRequest):
    name: DatasetName = Field(description="A built-in set, or csv: the rows given as `csv`.")
    csv: Annotated[str, StringConstraints(max_length=limits.MAX_CSV)] = Field(
        "", description="For name csv: rows x1,x2,y (commas, semicolons or tabs; a header row of names is allowed)."
    )
    n: int = Field(100, ge=4, le=1000, description="How many points (a built-in set).")
    noise: float | None = Field(
        None, ge=0.0, le=1.0, description="Standard deviation of the noise added (default: the set's own)."
    )
    seed: int = Field(0, ge=0, le=2**32 - 1)


class ExportRequest(BaseModel):
    network: NetworkDocument = Field(description=NETWORK_DOC)
    format: Literal["toml", "json", "html", "markdown", "text"] = "toml"
    example: int = Field(1, ge=1, le=limits.MAX_EXAMPLES)
