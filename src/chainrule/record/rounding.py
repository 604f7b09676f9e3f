"""The one rounding rule: how many decimals a number keeps when written to N places.

A worked example writes numbers to N decimal places, but a small number keeps at least N − 1
significant digits (0.000668 at 4 places, not 0.0007), so that a gradient never reads as 0 when
it is not. Printing (views.numbers), hand mode (record.hand) and the checker's idea of a rounded
intermediate (record.graph) all ask `places` and so agree to the digit.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal


def places(x: float, digits: int) -> int:
    """The decimal places `x` keeps at `digits`: `digits`, or more below 0.1 to keep digits − 1 significant ones."""
    if x == 0 or not math.isfinite(x):
        return digits
    leading = -math.floor(math.log10(abs(x)))  # zeros after the point before the first digit, plus 1
    return max(digits, leading + digits - 2) if leading > 0 else digits


def round_half_up(x: float | Decimal, digits: int) -> float:
    """x rounded half up (as a person rounds: 0.06925 → 0.0693) to `places(x, digits)` decimals."""
    d = x if isinstance(x, Decimal) else Decimal(repr(float(x)))
    if not d.is_finite() or d == 0:
        return float(d)
    return float(d.quantize(Decimal(1).scaleb(-places(float(d), digits)), rounding=ROUND_HALF_UP))


def round_as_written(x: float, digits: int) -> float:
    """x rounded to `places(x, digits)` decimals the way float rounding does (half to even on ties)."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, places(x, digits))
