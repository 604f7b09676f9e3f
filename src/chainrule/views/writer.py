"""How the story writes one record: its names as math, its numbers at the shown digits, its relations.

Shared by story.py and the modules that tell parts of the story (story_backward.py,
story_hand.py); it imports none of them, so the story's modules import in one direction only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from chainrule.engine.activations import Activation
from chainrule.engine.losses import Loss
from chainrule.record.step import StepRecord
from chainrule.views.doc import Block, Heading, Math, name_sym, num, num_node, snum, tex_name, tex_words
from chainrule.views.mathtree import Add, Formula, Node, Note, Num, Op, Paren, Partial, Rel, Sym, Word
from chainrule.views.numbers import Names


@dataclass(frozen=True)
class Part:
    """A piece of the story: what it tells (phase), about what (key), and its blocks.

    Every view renders the blocks; the page's stepper also cuts the story at its parts (a
    neuron, the loss, a gradient, the update), so it shows the same blocks step by step.
    """

    phase: str  # title, intro, step, architecture, figure, initial, layer, forward, softmax, loss,
    #             backward, deltas, gradient, gradients, update, hand, summary
    blocks: tuple[Block, ...]
    key: str = ""  # the neuron (forward), the layer (softmax), the parameter (gradient)
    example: int = 0  # the batch example (forward, softmax), 0-based within the batch


UNROUNDED = r"\quad \text{(from the unrounded values)}"
UNROUNDED_NOTE = Note("from the unrounded values")


class Writer:
    """One record, its names and how many digits to show.

    ``max_terms`` shortens every long sum to its first terms and its last (the page's stepper);
    the documents leave it None and write each sum out in full.
    """

    def __init__(self, record: StepRecord, digits: int, level: int = 1, max_terms: int | None = None) -> None:
        self.r = record
        self.d = digits
        self.v = record.values
        self.names = Names(record)
        self.level = level  # the level of this step's title
        self.max_terms = max_terms
        self._syms, self._once = _names_shared(self.names, max_terms)
        self._shown: dict[float, str] = {}
        self._nums: dict[float, Num] = {}
        self._in_sums: dict[float, Node] = {}
        self._read: dict[float, float] = {}
        self._eq: dict[float, str] = {}
        # In hand mode a computed figure is written with all its decimals (0.0150); a given one
        # (input, parameter, target, learning rate) as it was given (0.05).
        given = [*(self.v[x + record.suffix(k)] for k in range(len(record.examples)) for x in record.inputs)]
        given += [u.old for u in record.updates] + [record.learning_rate]
        given += [
            self.v[f"y_{n}{record.suffix(k)}"] for k in range(len(record.examples)) for n in record.output_neurons
        ]
        self.given = set(given)

    @property
    def hand(self) -> bool:
        return self.r.hand is not None

    def _pad(self, x: float) -> bool:
        return self.hand and x not in self.given

    def n(self, x: float) -> str:
        text = self._shown.get(x)  # a value is written many times a step (each product it enters)
        if text is None:
            text = self._shown[x] = num(x, self.d, self._pad(x))
        return text

    def s(self, x: float) -> str:
        return snum(x, self.d, self._pad(x))

    def t(self, name: str) -> str:
        return tex_name(name, self.names)

    def m(self, name: str) -> Math:
        return Math(self.t(name))

    # -- the story as math trees ----------------------------------------------------------------

    def num(self, x: float) -> Num:
        """x written by the one rule for numbers (hand figures with all their decimals)."""
        node = self._nums.get(x) if x else None  # (0 and −0 are one key but not one value)
        if node is None:
            node = num_node(x, self.d, self._pad(x))
            if x:
                self._nums[x] = node
        return node

    def sn(self, x: float) -> Node:
        """x inside a product or a sum: a negative number in parentheses."""
        node = self._in_sums.get(x) if x else None  # (as in num)
        if node is None:
            n = self.num(x)
            node = Paren(n) if n.shown[0] == "-" else n
            if x:
                self._in_sums[x] = node
        return node

    def name(self, name: str) -> Sym:
        # A step names the same values many times: each name's tree is built once (trees are immutable).
        sym = self._syms.get(name)
        if sym is None:
            sym = self._syms[name] = name_sym(name, self.names)
        return sym

    def math(self, name: str) -> Math:
        return Math(self.name(name))

    def once(self, key: tuple[object, ...], build: Callable[[], Node]) -> Node:
        """A tree in names only (no number), built once for every step: `key` must name all it is built from."""
        node = self._once.get(key)
        if node is None:
            node = self._once[key] = build()
        return node

    def d_(self, num: str, den: str, slash: bool = False) -> Partial:
        """∂num/∂den by the values' names."""
        key = ("∂", num, den, slash)  # (in the trees built once: a partial is names only)
        node = self._once.get(key)
        if node is None:
            node = self._once[key] = Partial(self.name(num), self.name(den), slash)
        return node  # type: ignore[return-value]

    def terms(self, terms: Sequence[Node], signs: Sequence[str] | None = None) -> Node:
        """Terms added; past `max_terms` only the first three and the last, around an ellipsis."""
        items, sg = list(terms), list(signs) if signs is not None else ["", *["+"] * (len(terms) - 1)]
        if self.max_terms is not None and len(items) > self.max_terms:
            items, sg = [*items[:3], Op("…"), items[-1]], [*sg[:3], "+", sg[-1]]
        return items[0] if len(items) == 1 and sg[0] != "-" else Add(tuple(items), tuple(sg))

    def rel(self, x: float) -> str:
        """= where the number shown is exactly x, ≈ where it is rounded."""
        return "≈" if self.eq(x) == r"\approx" else "="

    def res(self, x: float, printed: float | None = None) -> tuple[Node | str, ...]:
        """(relation, x), and a note where the shown operands do not give the shown result."""
        return (self.rel(x), self.num(x)) + (("", UNROUNDED_NOTE) if self.unrounded(x, printed) else ())

    def h(self, depth: int, text: str) -> Heading:
        return Heading(self.level + depth, text)

    def join(self, terms: Sequence[str], sep: str = " + ") -> str:
        """Terms joined; past `max_terms` only the first three and the last, around an ellipsis."""
        if self.max_terms is not None and len(terms) > self.max_terms:
            terms = [*terms[:3], r"\dots", terms[-1]]
        return sep.join(terms)

    def eq(self, x: float) -> str:
        """The relation before a result: = where the number shown is exactly x, ≈ where it is rounded."""
        if self.hand:
            return r"\approx"  # a written figure is the rounding of what the calculator showed
        sign = self._eq.get(x)  # asked for each value as often as it is written
        if sign is None:
            exact = abs(self.value(x) - x) <= 1e-12 * max(1.0, abs(x))  # (NaN for a word: not exact)
            sign = self._eq[x] = "=" if exact else r"\approx"
        return sign

    def result(self, x: float, printed: float | None = None) -> str:
        """`≈ x` (or `= x`), said to come from unrounded values where the shown operands do not give it."""
        return f"{self.eq(x)} {self.n(x)}{self.unrounded(x, printed)}"

    def unrounded(self, x: float, printed: float | None) -> str:
        """A note where `printed` (what the operands as shown work out to) does not round to x as shown.

        A reader redoing the arithmetic with the shown numbers would not get the shown result, so
        the equation says that it was computed from the unrounded values.
        """
        # By hand every figure is the rounding of the written ones before it: nothing to say.
        if printed is None or self.hand or holds(self.num(x).shown, printed):
            return ""
        return UNROUNDED

    def value(self, x: float) -> float:
        """A number as it is shown, read back: what a reader computes with."""
        read = self._read.get(x) if x else None  # (as in num)
        if read is None:
            read = shown_value(self.num(x).shown)  # (the tree's number: formatted once for both)
            if x:
                self._read[x] = read
        return read

    def product(self, *xs: float) -> float:
        return math.prod([self.value(x) for x in xs])

    def total(self, xs: Sequence[float]) -> float:
        return sum(self.value(x) for x in xs)


# Every step of a story (and every story of one network) names its values alike: each name's tree,
# and each equation in names only, is built once, and the printers, finding the same tree again,
# print it once (math_text looks trees up by identity first). Keyed by what such a tree depends on
# besides the names it is built from: Names, and how long sums are shortened.
_SHARED: dict[tuple[bool, str, int | None], tuple[dict[str, Sym], dict[tuple[object, ...], Node]]] = {}


def _names_shared(names: Names, max_terms: int | None) -> tuple[dict[str, Sym], dict[tuple[object, ...], Node]]:
    if sum(len(a) + len(b) for a, b in _SHARED.values()) >= 65536:  # a long-running server's many networks
        _SHARED.clear()
    return _SHARED.setdefault((names.single, names.out, max_terms), ({}, {}))


@lru_cache(maxsize=4096)  # a story reads each shown number back several times (products, sums, updates)
def shown_value(text: str) -> float:
    """A number as a view writes it (−0.3, 1.5e−7, ∞), read back as a float."""
    try:
        return float(text.replace("−", "-").replace(r"\infty", "inf"))
    except ValueError:
        return math.nan


def places(text: str) -> int | None:
    """The decimals a shown number has (None for one with an exponent or not finite)."""
    if "e" in text or "inf" in text or "∞" in text or "nan" in text:
        return None
    return len(text.partition(".")[2])


def holds(shown: str, printed: float) -> bool:
    """Whether `printed` (the shown operands' result) rounds to `shown` at the places it is shown with.

    Half a unit in the last place, with a hair's slack for the binary value of the decimal.
    """
    p = places(shown)
    if p is None or not math.isfinite(printed):
        return True
    return abs(printed - shown_value(shown)) <= 0.5 * 10.0**-p * (1 + 1e-9) + 1e-15


def split_formula(formula: str) -> tuple[str, str]:
    """A registry formula `f(z) = ...` as (lhs, rhs) for aligned display."""
    lhs, sep, rhs = formula.partition("=")
    return (lhs.strip(), "= " + rhs.strip()) if sep else (formula, "")


def neuron_tex(w: Writer, a_name: str) -> str:
    """A neuron by its name in words (h1, out), for 'x1 → h1'."""
    n = a_name.removeprefix("a_")
    if n in w.r.inputs:
        return w.t(n)
    return tex_words(n)


def neuron_node(w: Writer, a_name: str) -> Node:
    """A neuron by its name in words (h1, out), for 'x1 → h1'."""
    n = a_name.removeprefix("a_")
    if n in w.r.inputs:
        return w.name(n)
    return Word(n)


def new_name(w: Writer, param: str) -> Sym:
    """θ after the update: θ with the superscript new (w5_new)."""
    s = w.name(param)
    return Sym(s.base, s.sub, Word("new"), s.hat)


def formula_row(tex: str, plain: str) -> tuple[Node | str, Node | str]:
    """A registry formula `f(z) = …` as an aligned row, in its two fixed forms."""
    lhs, sep, rhs = tex.partition("=")
    plhs, psep, prhs = plain.partition("=")
    if not (sep and psep):
        return "", Formula(tex, plain)
    return Formula(lhs.strip(), plhs.strip()), Rel(("=", Formula(rhs.strip(), prhs.strip())))


def fill(template: str, **subs: str) -> str:
    """A registry's plain template with its placeholders written as plain letters (the general formula)."""
    return re.sub(r"\{(\w+)\}", lambda m: subs.get(m.group(1), m.group(1)), template)


def derivative_formula(act: Activation) -> tuple[Node | str, Node | str]:
    """f′(z) = … as the registry writes it: LaTeX for the documents, the plain template for the terminal."""
    lhs, _, rhs = act.derivative_formula.partition("=")
    if not act.elementwise:
        plhs, _, prhs = act.jacobian_plain.partition("=")
        return Formula(lhs.strip(), plhs.strip()), Rel(("=", Formula(rhs.strip(), prhs.strip())))
    name = "f" if lhs.strip().startswith(("f", r"\frac")) else act.symbol
    plain = fill(act.derivative_plain, a="a", z="z", alpha="α")
    return Formula(lhs.strip(), f"{name}′(z)"), Rel(("=", Formula(rhs.strip(), plain)))


def gradient_formula(loss: Loss) -> tuple[Node | str, Node | str]:
    """∂L/∂ŷ = … as the registry writes it."""
    lhs, _, rhs = loss.gradient_formula.partition("=")
    plain = fill(loss.gradient_plain, a="ŷ", y="y", m="m")
    return Formula(lhs.strip(), "∂L/∂ŷ"), Rel(("=", Formula(rhs.strip(), plain)))
