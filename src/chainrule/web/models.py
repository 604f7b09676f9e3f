"""The API's request bodies (pydantic models: they give the OpenAPI description its schemas)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from chainrule.io.data import BUILTIN
from chainrule.web.limits import MAX_EPOCHS

Network = dict[str, Any]
NETWORK_DOC = "A network document: the schema of a chainrule network file (TOML or JSON), as JSON."
DatasetName = Literal[BUILTIN]  # type: ignore[valid-type]


class StepRequest(BaseModel):
    network: Network = Field(description=NETWORK_DOC)
    example: int = Field(1, ge=1, description="Which update of the epoch to explain (1-based).")
    digits: int = Field(4, ge=1, le=15, description="Decimal places shown; the exact values are sent too.")
    full_record: bool = Field(
        False, description="Include the whole step record (every value of every example, every chain; views.json)."
    )


class TrainRequest(StepRequest):
    epochs: int = Field(1, ge=1, le=MAX_EPOCHS, description=f"Epochs to run in this request (at most {MAX_EPOCHS}).")


class EditRequest(StepRequest):
    op: Literal["add_neuron", "remove_neuron", "add_layer", "remove_layer", "activation", "loss"]
    layer: int = Field(0, ge=0, description="The layer (0 = the first after the inputs).")
    name: str = Field("", description="The activation or loss to use (for op activation or loss).")


class DatasetRequest(StepRequest):
    name: DatasetName
    n: int = Field(100, ge=4, le=1000, description="How many points.")
    noise: float | None = Field(
        None, ge=0.0, le=1.0, description="Standard deviation of the noise added (default: the set's own)."
    )
    seed: int = Field(0, ge=0, le=2**32 - 1)


class ExportRequest(BaseModel):
    network: Network = Field(description=NETWORK_DOC)
    format: Literal["toml", "json", "html", "markdown", "text"] = "toml"
    example: int = Field(1, ge=1)
