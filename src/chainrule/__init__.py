"""chainrule: backpropagation, every step shown, and fast.

The package in layers, each importing only those below it: `engine` (the math), `record` (a
step's numbers, by name), `check`, `train` and `io` beside each other, `views` and `plots` (how a
record is shown), `web` and `cli` at the top.
"""

from __future__ import annotations

import sys

__version__ = "0.1.0"

if "IPython" in sys.modules:  # in Jupyter, networks and steps display as math and tables
    from chainrule.views import notebook as _notebook  # noqa: F401  (registers the display hooks)
