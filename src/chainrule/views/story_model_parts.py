"""How the story of a shaped network writes its names, numbers, sums and grids (story_model*.py).

Names are data in the math tree: ``z_conv1[1,2,3]#2`` is z with the subscript ``conv1[1,2,3]`` and
the superscript (2); ``dL/dW_c[1,1,2,3]`` is ∂L/∂ of the element; ``W_c[…]_new`` carries ``new``.
Numbers go through the one rule (views.numbers.fmt via doc.num_node); "=" only where the number
shown is the value, "≈" where it is rounded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from chainrule.record.model_step import ModelStepRecord
from chainrule.record.model_types import OpInfo, Sum, Term
from chainrule.views.doc import Cell, Equations, Math, Table, num_node
from chainrule.views.mathtree import Add, Mul, Node, Num, Paren, Partial, Rel, Seq, Sym, Via, Word
from chainrule.views.numbers import fmt
from chainrule.views.writer import UNROUNDED_NOTE, holds, shown_value

_NAME = re.compile(r"(?P<stem>.*?)(?P<index>\[[0-9,]+\])?(?P<new>_new)?(?:#(?P<k>[0-9]+))?\Z", re.S)


class ModelWriter:
    """One record of a shaped network and how many digits to show."""

    def __init__(self, record: ModelStepRecord, digits: int, step: int = 1) -> None:
        self.r = record
        self.d = digits
        self.step = step  # which step of the document (its figures' file names)
        self.figures = 0  # drawings so far in this step
        # names whose worked value is only one path's part of the value (a residual block's first inner
        # layer's input gradient: the skip adds the rest), and the words naming that path
        self.via: dict[str, str] = {}
        self.v = record.values
        self._syms: dict[str, Node] = {}
        self._lead: tuple[int, ...] = ()

    def num(self, x: float) -> Num:
        return num_node(x, self.d)

    def sn(self, x: float) -> Node:
        """x inside a product or a sum: a negative number in parentheses."""
        n = self.num(x)
        return Paren(n) if n.negative else n

    def exact(self, x: float) -> bool:
        try:
            return abs(float(fmt(x, self.d).replace("−", "-")) - x) <= 1e-12 * max(1.0, abs(x))
        except ValueError:
            return False

    def rel(self, x: float) -> str:
        """= where the number shown is exactly x, ≈ where it is rounded."""
        return "=" if self.exact(x) else "≈"

    def shown(self, x: float) -> float:
        """x as it is shown, read back: what a reader computes with."""
        return shown_value(fmt(x, self.d))

    def result(self, x: float, printed: float) -> tuple[Node | str, ...]:
        """(relation, x), and a note where the shown operands (giving `printed`) do not give x as shown."""
        note: tuple[Node | str, ...] = ("", UNROUNDED_NOTE) if not holds(fmt(x, self.d), printed) else ()
        return (self.rel(x), self.num(x), *note)

    def printed(self, s: Sum) -> float:
        """What a sum's shown operands give."""
        total = sum(self.shown(t.left_value) * self.shown(t.right_value) for t in s.terms)
        return total + (self.shown(s.constant_value) if s.constant else 0.0)

    def name(self, name: str) -> Node:
        """A value's name as a math tree (built once a name: trees are immutable)."""
        node = self._syms.get(name)
        if node is None:
            node = self._syms[name] = _name_node(name, self.r.input_name)
        return node

    def lhs(self, name: str) -> Node:
        """A worked equation's left side: the name, or its part along a path (∂L/∂x |via the inner path)."""
        node = self.name(name)
        return Via(node, Word(self.via[name])) if name in self.via else node

    def cell(self, x: float) -> Cell:
        return (Math(self.num(x)),)

    def sum_eq(self, s: Sum, per_row: int | None = None) -> Equations:
        """name = Σ left·right (+ constant) = the numbers = value, written out in full; a long sum
        `per_row` products a row (a convolution's window: one row of the kernel a row)."""
        names: list[Node] = [Mul((self.name(t.left), self._right_name(t))) for t in s.terms]
        nums: list[Node] = [Mul((self.sn(t.left_value), self.sn(t.right_value))) for t in s.terms]
        if s.constant:
            names.append(self.name(s.constant))
            nums.append(self.sn(s.constant_value))
        if not names:
            return Equations(((self.lhs(s.name), Rel(("=", self.num(0.0)))),))
        if len(names) <= PER_ROW + 1:
            parts: list[Node | str] = ["=", _added(names)]
            if len(nums) > 1 or s.constant:
                parts += ["=", _added(nums)]
            parts += [*self.result(s.value, self.printed(s))]
            return Equations(((self.lhs(s.name), Rel(tuple(parts))),))
        # a long sum (a kernel element over every position, BPTT over steps and examples): a few
        # terms a row, so every format shows it on its page (an HTML line does not wrap inside a sum)
        rows = (
            _rows(names, "=", per_row or NAMES_PER_ROW)
            + _rows(nums, "=", per_row or PER_ROW)
            + [Rel(self.result(s.value, self.printed(s)))]
        )
        return Equations(tuple((self.lhs(s.name) if i == 0 else "", row) for i, row in enumerate(rows)))

    def _right_name(self, t: Term) -> Node:
        return self.name(t.right) if t.right else self.num(t.right_value)

    def grid(self, prefix: str, shape: Sequence[int], suffix: str = "", lead: tuple[int, ...] = ()) -> list[Table]:
        """A value of every element of a map (`prefix[…]`) as tables: one a channel of a (C, H, W) map,
        rows by the first axis of a (T, F) one, and a vector eight to a row; `lead` indices go
        before each element's own (the last state of an RNN that outputs only it)."""
        dims = tuple(shape)
        self._lead = lead
        Rows = list[tuple[str, list[tuple[int, ...]]]]
        if len(dims) == 1:
            rows: Rows = [
                (_span(start, min(start + ROW, dims[0])), [(j,) for j in range(start, min(start + ROW, dims[0]))])
                for start in range(0, dims[0], ROW)
            ]
            return [self._table(prefix, min(ROW, dims[0]), rows, suffix, "")]
        if len(dims) == 2:
            rows = [(f"{i + 1}", [(i, j) for j in range(dims[1])]) for i in range(dims[0])]
            return [self._table(prefix, dims[1], rows, suffix, "row")]
        tables = []
        for c in range(dims[0]):
            rows = [(f"{i + 1}", [(c, i, j) for j in range(dims[-1])]) for i in range(dims[1])]
            tables.append(self._table(prefix, dims[-1], rows, suffix, f"channel {c + 1}"))
        return tables

    def _table(
        self, prefix: str, width: int, rows: list[tuple[str, list[tuple[int, ...]]]], suffix: str, corner: str
    ) -> Table:
        header = (corner, *(str(j + 1) for j in range(width)))
        body = []
        for label, cells in rows:
            vals = [self.cell(self.v.get(_element(prefix, (*self._lead, *ix)) + suffix, float("nan"))) for ix in cells]
            vals += [("",)] * (width - len(vals))
            body.append(((label,), *vals))
        return Table(header, tuple(body), (False, *([True] * width)))


ROW = 8  # a vector's elements to a table row


def _span(start: int, stop: int) -> str:
    """A vector's row label: the 1-based elements it holds (5–8, or 5 alone)."""
    return f"{start + 1}" if stop == start + 1 else f"{start + 1}–{stop}"


def value_shape(info: OpInfo) -> tuple[int, ...]:
    """The shape of an op's named z and a: its output's, or an RNN's every state (T, units)."""
    if info.kind == "rnn":
        return (info.in_shape[0], info.out_shape[-1])
    return info.out_shape


def _element(prefix: str, ix: tuple[int, ...]) -> str:
    return f"{prefix}[{','.join(str(i + 1) for i in ix)}]"


PER_ROW = 3  # products of numbers a row of a long sum (a page or a phone holds them)
NAMES_PER_ROW = 2  # products of names a row (they are longer)


def _rows(terms: list[Node], relation: str, per_row: int) -> list[Node]:
    """A sum's terms, `per_row` a row: the first row after `relation`, the others after a +."""
    chunks = [terms[i : i + per_row] for i in range(0, len(terms), per_row)]
    return [Rel((relation, _added(c)) if i == 0 else ("quad", "+", _added(c))) for i, c in enumerate(chunks)]


def _added(nodes: list[Node]) -> Node:
    return nodes[0] if len(nodes) == 1 else Add(tuple(nodes), ("", *["+"] * (len(nodes) - 1)))


def _name_node(name: str, input_name: str) -> Node:
    """dL/d<value> as ∂L/∂value; <stem>[index] as stem with the index in its subscript."""
    if name.startswith("dL/d"):
        return Partial(Sym("L"), _name_node(name[4:], input_name), slash=True)
    m = _NAME.match(name)
    assert m is not None  # the pattern matches every string
    stem, index, new, k = m.group("stem"), m.group("index") or "", m.group("new"), m.group("k")
    sup: Node | None = Paren(Word(k)) if k else None
    if new:
        sup = Word("new")
    head, sep, sub = stem.partition("_")
    if not sep or stem == input_name:
        head, sub = stem, ""
    if not re.fullmatch(r"[A-Za-z]{1,5}", head):
        head, sub = stem, ""
    sym = Sym(_GREEK.get(head, head), Word(sub) if sub else None, sup, hat=head == "xhat")
    return Seq((sym, Word(index)), "") if index else sym


# chainrule's own statistic names, written as the paper does (x̂ is x with a hat)
_GREEK = {"mu": "μ", "var": "σ²", "gamma": "γ", "beta": "β", "xhat": "x"}
