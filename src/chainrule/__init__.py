"""chainrule: backpropagation, every step shown, and fast.

The package in layers, each importing only those below it: `engine` (the math), `record` (a
step's numbers, by name), `check`, `io` and `train` beside it, `views` and `plots` (how a record is
shown), `web` and `cli` at the top. The names below are the short way in for a notebook:

    import chainrule
    net = chainrule.load("examples/forward-backprop.toml")   # or load() for the reference example
    step = chainrule.explain_step(net)
    step.values["dL/dw5"]                                     # 0.08216704056423078
    result = chainrule.fit(net, config=chainrule.TrainConfig(epochs=100))
    result.network.parameters()                               # trained: net itself is unchanged
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Imported on first use, so that `chainrule --help` and the CLI's start stay fast.
_LAZY = {
    "load": "chainrule.io.loader",  # a Network, or a Model for a shaped network (conv, rnn, ...)
    "save": "chainrule.io.loader",
    "Network": "chainrule.engine.network",
    "explain_step": "chainrule.record.step",
    "explain_steps": "chainrule.record.step",
    "StepRecord": "chainrule.record.step",
    "fit": "chainrule.train.trainer",
    "Trainer": "chainrule.train.trainer",
    "TrainConfig": "chainrule.train.config",
    "TrainResult": "chainrule.train.trainer",
}
__all__ = [
    "Network",
    "StepRecord",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "__version__",
    "explain_step",
    "explain_steps",
    "fit",
    "load",
    "save",
]

if TYPE_CHECKING:  # what a type checker and an editor see; at run time each is imported on first use
    from chainrule.engine.network import Network
    from chainrule.io.loader import load, save
    from chainrule.record.step import StepRecord, explain_step, explain_steps
    from chainrule.train.config import TrainConfig
    from chainrule.train.trainer import Trainer, TrainResult, fit


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


if "IPython" in sys.modules:  # in Jupyter, networks and steps display as math and tables
    from chainrule.views import notebook as _notebook  # noqa: F401  (registers the display hooks)
