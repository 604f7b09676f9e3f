"""Whether a written number agrees with a value at the precision written, and whether it is too coarse.

A claim written with d decimals agrees with x when |c − x| ≤ units·10⁻ᵈ (½ by default: x rounded
to the places written), compared as the author wrote it (a convention's factor applied). It is
too coarse when written with fewer decimals than asked (see checker.py).
"""

from __future__ import annotations

import math

from chainrule.check.answers import Claim


def agrees(claim: Claim, x: float, units: float = 0.5) -> bool:
    """|c − x| ≤ units·10⁻ᵈ, with a hair of slack for numbers exactly on the half."""
    if not math.isfinite(x):
        return False
    # compared as written: a convention's factor (sign, or −η for a velocity written as the step) applied
    return abs(claim.value - x) * abs(claim.sign) <= units * 10.0**-claim.decimals * (1 + 1e-9) + 1e-15


def significant(claim: Claim) -> int:
    """The significant digits written: "0.0350" has 3, "0" and "0.000" none."""
    digits = claim.written.lower().partition("e")[0].lstrip("+-").replace(".", "").lstrip("0")
    return len(digits)


UNASKED_DIGITS = 4  # with nothing asked, a written zero must hold a value that shows none at 4 decimals


def too_coarse(c: Claim, exact: float, asked: int | None) -> bool:
    """Written with fewer decimals than asked; with nothing asked, a zero ("0", "0.0") for a value that
    shows a significant digit at UNASKED_DIGITS decimals ("0" for −0.00136; not "0.000000" for 1e-9)."""
    if asked is not None:
        return c.decimals < asked
    return significant(c) == 0 and abs(exact) >= 0.5 * 10.0**-UNASKED_DIGITS
