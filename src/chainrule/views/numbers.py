"""How numbers and names are written, the same way in every view."""

from __future__ import annotations

import math
from functools import lru_cache

from chainrule.record.names import split_example
from chainrule.record.rounding import places
from chainrule.record.step import StepRecord

DEFAULT_DIGITS = 4


# A step writes each value several times (a forward value again in every backward product), and a
# story writes some 850 numbers a step: each (value, digits) is formatted once.
@lru_cache(maxsize=4096)
def fmt(x: float, digits: int = DEFAULT_DIGITS) -> str:
    """A number as a worked example writes it: `digits` decimal places.

    Trailing zeros are dropped only where the number is exact at that precision (0.05, 0.4, 1),
    so 0.0150 still says that three digits are significant while 0.40 given in a file reads 0.4.

    Small numbers keep at least ``digits − 1`` significant digits (0.000668, not 0.0007), so a
    gradient never prints as 0 when it is not; very large or very small ones use an exponent.
    """
    if not math.isfinite(x):
        return "nan" if math.isnan(x) else ("∞" if x > 0 else "−∞")
    if x == 0:
        return "0"
    ax = abs(x)
    if ax >= 1e6 or ax < 10.0 ** -(digits + 4):
        mantissa, exp = f"{x:.{max(digits - 1, 1)}e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
        return f"{mantissa}e{int(exp)}".replace("-", "−")
    kept = digits if ax >= 0.1 else places(x, digits)  # (places keeps `digits` from 0.1 up)
    text = f"{x:.{kept}f}"
    if text[-1] == "0" and "." in text and abs(float(text) - x) <= 10.0 ** -(kept + 6):
        text = text.rstrip("0").rstrip(".")
    return text.replace("-", "−") if text not in ("-0", "0") else "0"


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def times_ten(mantissa: str, power: int) -> str:
    """A mantissa and its power of ten as every printed number writes them: 1.5×10⁻⁷."""
    return f"{mantissa}×10{str(power).translate(_SUPERSCRIPT)}"


def fmt_screen(x: float, digits: int = DEFAULT_DIGITS) -> str:
    """`fmt`'s number with its power of ten written as the math beside it writes one (1.5×10⁻⁷, not
    1.5e−7): for labels on a screen, where no reader types the number back."""
    text = fmt(x, digits)
    mantissa, e, power = text.partition("e")
    return times_ten(mantissa, int(power.replace("−", "-"))) if e else text


def fmt_change(new: float, change: float, digits: int = DEFAULT_DIGITS) -> str:
    """A parameter's new value with enough decimals that its change shows (to digits−1 figures).

    0.30 − 0.00075 prints as 0.299250, not 0.2993: a reader sees by how much it moved.
    """
    if change == 0 or not math.isfinite(change):
        return fmt(new, digits)
    kept = places(change, digits)
    if kept > 15:
        return fmt(new, digits)
    return f"{new:.{kept}f}".replace("-", "−")


def signed(x: float, digits: int = DEFAULT_DIGITS) -> str:
    """A number for a product or sum: negative ones in parentheses, as a person writes them."""
    text = fmt(x, digits)
    return f"({text})" if text.startswith("−") else text


class Names:
    """The names a reader sees: ŷ for a single output's activation, y for its target."""

    def __init__(self, record: StepRecord) -> None:
        outs = record.output_neurons
        self.single = len(outs) == 1
        self.out = outs[0] if self.single else ""

    def show(self, name: str) -> str:
        base, k = split_example(name)
        if self.single:
            if base == f"a_{self.out}":
                base = "ŷ"
            elif base == f"y_{self.out}":
                base = "y"
        return base + (f"#{k}" if k else "")

    def partial(self, num: str, den: str) -> str:
        return f"∂{self.show(num)}/∂{self.show(den)}"
