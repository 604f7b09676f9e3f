"""An exercise shown: the worksheet (given values, a diagram, blanks for what is asked) and its key.

The worksheet takes the network's description and its initial values from the same story as
`chainrule explain` (story.parts: "architecture", "initial"), and the answer key is that story
itself at the exercise's precision; the three formats are the story's own renderers, so a
worksheet's LaTeX is the same LaTeX as a worked example's.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Literal

from chainrule.check.exercise import ASK_KINDS, Exercise, ask_kind
from chainrule.views import html, latex, markdown
from chainrule.views.doc import Block, Bullets, Figure, Heading, Math, Para, Table, tex_name
from chainrule.views.mathtree import Num
from chainrule.views.numbers import Names, fmt
from chainrule.views.story import parts, story
from chainrule.views.svg import network_drawing, to_svg

Format = Literal["markdown", "latex", "html"]
BLANK = "_" * 28  # where the student writes the number: room for a sign, digits and a correction
DIAGRAM = "worksheet-network"  # the diagram's file name beside the Markdown worksheet (.svg)
_KIND_WORDS = {"forward": "Forward pass and loss", "gradients": "Gradients", "update": "Updated parameters"}


def diagram_svg(ex: Exercise) -> str:
    """The network with what is given (inputs, weights, biases, targets); every activation a "?"."""
    record = ex.records[0]
    hidden = {name: math.nan for name in record.values if name.startswith("a_")}
    drawing = network_drawing(dataclasses.replace(record, values={**record.values, **hidden}), ex.spec.digits)
    labels = [dataclasses.replace(t, text="?") if t.text == "nan" else t for t in drawing.labels]
    return to_svg(dataclasses.replace(drawing, labels=labels))


def _instructions(ex: Exercise) -> Para:
    steps = "one update" if ex.spec.steps == 1 else f"{ex.spec.steps} updates, one after another"
    return Para(
        (
            f"Work {steps} of the network below by hand. Give every number to {ex.spec.digits} decimal places "
            "(round only what you write; keep more digits in your calculator). "
            "Fill in the answers file (answers.toml) beside this worksheet: each name between the quotes, e.g. "
            f'"{"0." + "1234"[: ex.spec.digits].ljust(ex.spec.digits, "0")}".',
            *_squared_words(ex),
        )
    )


def _squared_words(ex: Exercise) -> tuple[str, ...]:
    """Where squared-gradient averages are asked to significant figures (check.exercise.places), say so."""
    if all(ex.places(s, n) == ex.spec.digits for s, n in ex.asked):
        return ()
    return (
        f" The squared-gradient averages (s, tiny by nature) are asked to {ex.spec.digits} significant figures "
        "instead: the [digits] table of answers.toml gives the decimals each one needs.",
    )


def _examples(ex: Exercise) -> list[Block]:
    """All the examples, when there are several (a step's own table shows only its batch)."""
    net = ex.network
    if net.x.shape[0] < 2:
        return []
    header = ("example", *net.input_names, *(f"y_{n}" for n in net.layers[-1].neuron_names))
    rows = tuple(
        ((str(i + 1),), *((fmt(float(v), ex.spec.digits),) for v in (*x, *y)))
        for i, (x, y) in enumerate(zip(net.x, net.y, strict=True))
    )
    words = {"online": "one update per example, in this order", "full": "one update on all examples"}
    how = words.get(str(net.training.batch), f"one update per batch of {net.training.batch}")
    return [
        Heading(2, "Examples"),
        Para((f"The examples ({how}):",)),
        Table(header, rows, (False,) + (True,) * (len(header) - 1)),
    ]


def display_name(name: str, names: Names) -> Math:
    """A value's name typeset as the Given section's are: ∂L/∂w₅ as a fraction, ŷ, w₅ new."""
    m = re.fullmatch(r"d([^/#]+)/d([^#]+)(#\d+)?", name)
    if m:
        top = "L" if m.group(1) == "L" else tex_name(m.group(1) + (m.group(3) or ""), names)
        return Math(rf"\frac{{\partial {top}}}{{\partial {tex_name(m.group(2), names)}}}")
    base, new, rest = name.partition("_new")
    if new and not rest:
        return Math(tex_name(base, names) + r"^{\text{new}}")
    return Math(tex_name(name, names))


def _asked(ex: Exercise) -> list[Block]:
    """Every asked value typeset as Given is, beside its name in answers.toml and room to write."""
    shown = Names(ex.records[0])
    blocks: list[Block] = [Heading(2, "To find")]
    for step in range(1, ex.spec.steps + 1):
        if ex.spec.steps > 1:
            hint = "" if step == 1 else " (from the parameters your previous update left)"
            blocks.append(Heading(3, f"Update {step}{hint}"))
        for kind in ASK_KINDS:
            names = [n for s, n in ex.asked if s == step and ask_kind(n, ex.network) == kind]
            if names:
                blocks.append(Para((f"{_KIND_WORDS[kind]}:",)))
                rows = tuple(((display_name(n, shown),), (n,), (BLANK,)) for n in names)
                blocks.append(Table(("value", "in answers.toml", "your answer"), rows, (False, False, False)))
    return blocks


def worksheet_blocks(ex: Exercise) -> list[Block]:
    """Title, instructions, the network, the given values, and a blank for every asked value."""
    story_parts = parts(ex.records[:1], ex.spec.digits, figures=False)
    chosen = {p.phase: p.blocks for p in story_parts if p.phase in ("architecture", "initial")}
    caption = "The network: weights on the edges, biases below, targets on the right; ? is yours to compute."
    blocks: list[Block] = [Heading(1, ex.document["title"]), _instructions(ex)]
    blocks += list(chosen["architecture"])
    blocks.append(Figure(DIAGRAM, diagram_svg(ex), caption))
    blocks += [Heading(2, "Given"), *[b for b in chosen["initial"] if not isinstance(b, Heading)]]
    blocks += _examples(ex)
    blocks += _asked(ex)
    blocks.append(Bullets((("Exercise seed ", f"{ex.seed}" + (f", number {ex.number}" if ex.number > 1 else "")),)))
    return blocks


def _render(blocks: list[Block], fmt_: Format, figures: str | None) -> str:
    if fmt_ == "html":
        return html.render_blocks(blocks)
    if fmt_ == "latex":
        return latex.render_blocks(blocks)
    return markdown.render_blocks(blocks, figures)


def render_worksheet(ex: Exercise, fmt_: Format) -> str:
    """The worksheet; Markdown links its diagram as ./worksheet-network.svg (write diagram_svg there)."""
    return _render(worksheet_blocks(ex), fmt_, ".")


def render_key(ex: Exercise, fmt_: Format) -> str:
    """The answer key: the worked solution from explain's story, at the exercise's precision, then
    every asked value as the worksheet's "To find" lists it (the story works a hidden ∂L/∂a or ∂L/∂z
    inside a path's product, so only this table shows each on its own)."""
    blocks = story(ex.records, ex.spec.digits, figures=fmt_ != "markdown")
    first = next(i for i, b in enumerate(blocks) if isinstance(b, Heading) and b.level == 1)
    blocks[first] = Heading(1, f"Answer key: {ex.document['title']}")
    return _render(blocks + _answers(ex), fmt_, None)


def _answers(ex: Exercise) -> list[Block]:
    """Every asked value beside its name in answers.toml and its answer, in the worksheet's order."""
    shown, key = Names(ex.records[0]), ex.key()
    blocks: list[Block] = [Heading(2, "Every value asked")]
    for step in range(1, ex.spec.steps + 1):
        if ex.spec.steps > 1:
            blocks.append(Heading(3, f"Update {step}"))
        names = [n for kind in ASK_KINDS for s, n in ex.asked if s == step and ask_kind(n, ex.network) == kind]
        rows = tuple(
            ((display_name(n, shown),), (n,), (Math(Num(float(key[(step, n)]), key[(step, n)])),)) for n in names
        )
        blocks.append(Table(("value", "in answers.toml", "answer"), rows, (False, False, True)))
    return blocks
