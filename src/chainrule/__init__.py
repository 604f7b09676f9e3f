"""chainrule: backpropagation, every step shown, and fast.

The package in layers, each importing only those below it: `engine` (the math), `record` (a
step's numbers, by name), `check`, `io` and `train` beside it, `views` and `plots` (how a record is
shown), `web` and `cli` at the top. The names below are the short way in for a notebook:

    import chainrule
    net = chainrule.load("examples/forward-backprop.toml")   # or load() for the reference example
    step = chainrule.explain_step(net)
    step.values["dL/dw5"]                                     # 0.08216704056423078
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the lazy names below are, for type checkers (nothing is imported at run time)
    from chainrule.engine.network import Network  # noqa: F401  (named in __all__, through _LAZY)
    from chainrule.io.netfile import load, save  # noqa: F401
    from chainrule.record.step import StepRecord, explain_step, explain_steps  # noqa: F401

__version__ = "0.1.0"

# Imported on first use, so that `chainrule --help` and the CLI's start stay fast.
_LAZY = {
    "load": "chainrule.io.netfile",
    "save": "chainrule.io.netfile",
    "Network": "chainrule.engine.network",
    "explain_step": "chainrule.record.step",
    "explain_steps": "chainrule.record.step",
    "StepRecord": "chainrule.record.step",
}
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


if "IPython" in sys.modules:  # in Jupyter, networks and steps display as math and tables
    from chainrule.views import notebook as _notebook  # noqa: F401  (registers the display hooks)
