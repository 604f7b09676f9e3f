"""`chainrule functions`: the activation and loss catalogue, the calculator and the figures.

Thin: sort the arguments into names and numbers, ask ``catalogue`` for entries or values, pick a
view (or ``plots_functions`` for a figure).
"""

from __future__ import annotations

import math
from pathlib import Path

import click

from chainrule.cli.common import output_option, say, writable, write_output
from chainrule.engine import catalogue
from chainrule.errors import ChainruleError

_NUMBER_START = tuple("0123456789.+-−")


def split_arguments(args: tuple[str, ...]) -> tuple[list[str], list[float]]:
    """Names first, then numbers: `sigmoid tanh 0.5 -1`. Aliases count once (silu is swish)."""
    names: list[str] = []
    numbers: list[float] = []
    for position, text in enumerate(args, start=1):
        if text.startswith("--") or (len(text) > 1 and text[0] == "-" and text[1].isalpha() and text[1:] != "inf"):
            raise ChainruleError(f"no such option: {text} (see chainrule functions --help)")
        if text.lower().lstrip("+-−") in {"nan", "inf", "infinity"} or text.startswith(_NUMBER_START):
            numbers.append(catalogue.parse_number(text, position))
        elif numbers:
            raise ChainruleError(f"argument {position} {text!r}: expected a number (function names come first)")
        else:
            name = catalogue.lookup(text).name
            if name not in names:
                names.append(name)
    if numbers and not names:
        raise ChainruleError(f"argument 1 {args[0]!r}: expected a function name first, e.g. sigmoid {args[0]}")
    return names, numbers


def _z_range(text: str) -> tuple[float, float]:
    low, sep, high = text.replace("−", "-").partition(",")
    try:
        lo, hi = float(low), float(high)
    except ValueError:
        lo = hi = math.nan
    if not sep or not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ChainruleError(f"--range {text!r}: expected LOW,HIGH with LOW < HIGH, e.g. --range=-6,6")
    return lo, hi


def _alpha_for(name: str, alpha: float | None) -> float | None:
    fn = catalogue.lookup(name)
    return alpha if getattr(fn, "alpha", None) is not None else None


def _show(text_renderable: object, output: Path | None) -> None:
    from rich.console import Console

    if output is None:
        Console(highlight=False).print(text_renderable)
        return
    with open("/dev/null", "w") as sink:
        console = Console(record=True, highlight=False, width=100, file=sink)
        console.print(text_renderable)
    write_output(console.export_text(), output)


@click.command(context_settings={"ignore_unknown_options": True, "help_option_names": ["-h", "--help"]})
@click.argument("args", nargs=-1, metavar="[NAME]... [NUMBER]...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="text for the terminal; markdown with LaTeX formulas; json for scripts (full precision).",
)
@click.option(
    "--digits", type=click.IntRange(1, 15), default=4, show_default=True, help="Decimal places of the rounded column."
)
@click.option("--alpha", type=float, help="α for leaky_relu, prelu and elu (default: the registry's).")
@click.option(
    "--plot",
    "plot",
    type=click.Path(path_type=Path, dir_okay=False),
    callback=lambda ctx, param, value: _plot_path(value),
    help="Draw the functions to FILE (.png, .svg, .pdf, … by its suffix).",
)
@click.option("--overlay", is_flag=True, help="With --plot: all functions on one set of axes, not one panel each.")
@click.option(
    "--range", "z_range", default="-5,5", show_default=True, metavar="LOW,HIGH", help="With --plot: the z axis."
)
@output_option
def functions(
    args: tuple[str, ...],
    fmt: str,
    digits: int,
    alpha: float | None,
    plot: Path | None,
    overlay: bool,
    z_range: str,
    output: Path | None,
) -> None:
    """The activation and loss functions: formulas, derivatives, values and pictures.

    \b
    chainrule functions                          every activation and loss
    chainrule functions sigmoid                  one in detail
    chainrule functions sigmoid 0.3775 1.1059    value and derivative at each z
    chainrule functions softmax 1 2 3            softmax of one vector, and its Jacobian
    chainrule functions half_squared_error 0.7514 0.01    a loss: ŷ values, then as many y
    chainrule functions tanh relu gelu --plot act.png     each function and its derivative

    Names first, then numbers; aliases (silu, linear, step, logistic) are accepted.
    """
    names, numbers = split_arguments(args)
    if alpha is not None and not math.isfinite(alpha):
        raise ChainruleError(f"--alpha: expected a finite number, got {alpha}")
    if alpha is not None and not any(_alpha_for(n, alpha) is not None for n in names or ["leaky_relu"]):
        raise ChainruleError(f"--alpha: none of {', '.join(names)} takes an α (leaky_relu, prelu and elu do)")
    if plot is not None:
        _plot(plot, names, numbers, alpha, overlay, _z_range(z_range))
        return
    from chainrule.views import catalogue as view

    if numbers:
        values = [catalogue.evaluate(n, numbers, _alpha_for(n, alpha)) for n in names]
        entries = [catalogue.entry(n) for n in names]
        if fmt == "json":
            write_output(view.json_values(values), output)
        elif fmt == "markdown":
            write_output(view.markdown_values(values, entries, digits), output)
        else:
            _show(view.render_values(values, entries, digits), output)
        return
    entries = [catalogue.entry(n) for n in names] if names else catalogue.entries()
    if fmt == "json":
        write_output(view.json_entries(entries), output)
    elif fmt == "markdown":
        write_output(view.markdown_entries(entries, detailed=bool(names)), output)
    else:
        _show(view.render_entries(entries, detailed=bool(names)), output)


def _plot_path(value: Path | None) -> Path | None:
    """--plot checked as it is parsed (its format, then the folder), before anything is drawn."""
    if value is None:
        return None
    from chainrule.plots.formats import plot_format

    plot_format(value)
    return writable(value, "--plot")


def _plot(
    path: Path, names: list[str], marks: list[float], alpha: float | None, overlay: bool, z_range: tuple[float, float]
) -> None:
    from chainrule.plots.functions import write_figure

    if not names:
        names = catalogue.canonical_names()[0]
    write_figure(path, names, z_range=z_range, overlay=overlay, alpha=alpha, marks=marks)
    what = f"{names[0]} and its derivative" if len(names) == 1 else f"{', '.join(names)} and their derivatives"
    say(f"wrote {path}: {what}")
