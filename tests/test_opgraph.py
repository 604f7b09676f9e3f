"""The step as a computational graph: its structure, its gradients against the record, DOT that parses, the SVG.

The graph's gradients are found by walking it backwards (record.opgraph), independently of the
engine's layer-by-layer backward pass: each must equal the record's dL/dθ, dL/dz and dL/da.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from chainrule.cli.root import main
from chainrule.io import netfile
from chainrule.record.opgraph import LEAVES, OpGraph, op_graph
from chainrule.record.step import StepRecord, explain_step
from chainrule.views import dot, picture
from chainrule.views.numbers import fmt
from chainrule.views.opgraph_svg import MAX_OPERATIONS, opgraph_drawing, opgraph_svg
from chainrule.views.svg import read_svg
from helpers import CASES, odd_document, random_document

EXAMPLES = Path(__file__).resolve().parent.parent / "src" / "chainrule" / "examples"


def _record(case: int, loss: str, output: str, odd: bool = False) -> StepRecord:
    rng = np.random.default_rng(500 + case)
    doc = (odd_document if odd else random_document)(rng, loss, output)
    return explain_step(netfile.from_dict(doc, source=f"random-{case}"))


RANDOM = [(i, lo, o) for i, (lo, o) in enumerate(CASES * 3)]


# -- the reference example -----------------------------------------------------------------------


def test_the_shared_bias_fans_out_to_both_hidden_sums_and_their_gradients_add_up(reference) -> None:  # type: ignore[no-untyped-def]
    record = explain_step(reference)
    g = op_graph(record)
    edges = g.out_of("b1")
    assert [(e.dst, e.local) for e in edges] == [("z_h1", 1.0), ("z_h2", 1.0)]
    parts = [g.contribution(e) for e in edges]
    assert parts == [record.values["dL/dz_h1"], record.values["dL/dz_h2"]]
    assert parts[0] is not None and parts[1] is not None
    assert parts[0] + parts[1] == record.values["dL/db1"] == g.nodes["b1"].grad
    assert fmt(g.nodes["b1"].grad, 6) == "0.028364"
    assert g.nodes["w5"].grad == 0.08216704056423078


def test_the_reference_graph_has_one_node_per_operation(reference) -> None:  # type: ignore[no-untyped-def]
    g = op_graph(explain_step(reference))
    kinds = [n.kind for n in g.nodes.values()]
    # 6 weights·inputs, 3 sums, 3 sigmoids, 1 loss; leaves: 8 parameters, 2 inputs, 1 target
    assert [kinds.count(k) for k in ("mul", "add", "act", "loss", "param", "input", "target")] == [6, 3, 3, 1, 8, 2, 1]
    assert g.operations == 13
    assert g.nodes["loss"].grad == 1.0 and list(g.nodes)[-1] == "loss"


# -- random networks: structure and gradients ----------------------------------------------------


def _check_structure(g: OpGraph) -> None:
    """Edges run forward; a product is its two operands' product, a sum their sum."""
    order = {n: i for i, n in enumerate(g.nodes)}
    for e in g.edges:
        assert order[e.src] < order[e.dst], e
    for node_id, node in g.nodes.items():
        reads = [g.nodes[e.src].value for e in g.into(node_id)]
        if node.kind == "mul":
            assert len(reads) == 2 and node.value == reads[0] * reads[1]
        elif node.kind == "add":
            assert node.value == pytest.approx(sum(reads), rel=1e-12, abs=1e-12)
        elif node.kind in LEAVES:
            assert reads == []


@pytest.mark.parametrize(("case", "loss", "output"), RANDOM)
def test_every_gradient_of_the_graph_equals_the_records(case: int, loss: str, output: str) -> None:
    record = _record(case, loss, output)
    g = op_graph(record)
    _check_structure(g)
    v = record.values
    for u in record.updates:
        grad = g.nodes[u.param].grad
        assert grad is not None and abs(grad - v[f"dL/d{u.param}"]) <= 1e-12 * max(1.0, abs(grad)), u.param
    for node_id, node in g.nodes.items():
        if node.kind not in ("add", "act") or node.grad is None:
            continue  # the sums' and activations' gradients are the record's dL/dz and dL/da
        want = v["dL/d" + node_id]
        assert node.grad is not None and abs(node.grad - want) <= 1e-12 * max(1.0, abs(want)), node_id
    # a parameter used by several examples fans out once per example, and what flows back adds up
    if len(record.examples) > 1:
        first = record.updates[0].param
        assert len(g.out_of(first)) % len(record.examples) == 0


def test_a_fused_loss_reads_z_and_shows_y_hat_without_a_gradient() -> None:
    record = explain_step(netfile.load(EXAMPLES / "softmax-classifier.toml"))
    assert record.fused
    g = op_graph(record)
    s = record.suffix(0)
    loss = f"loss{s}"
    assert {e.src for e in g.into(loss)} >= {f"z_{n}{s}" for n in record.output_neurons}
    assert all(g.nodes[f"a_{n}{s}"].grad is None for n in record.output_neurons)


# -- DOT: a small parser -------------------------------------------------------------------------

# DOT's tokens: a quoted string, ->, punctuation, an identifier, a numeral
_TOKEN = re.compile(
    r'\s*(?:("(?:\\.|[^"\\])*")|(->)|([{}\[\];,=])|([A-Za-z_][A-Za-z0-9_]*)|(-?(?:\.\d+|\d+(?:\.\d*)?)))'
)


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        assert m and m.end() > pos, f"not DOT at {text[pos : pos + 30]!r}"
        out.append(next(t for t in m.groups() if t is not None))
        pos = m.end()
    return out


def _unquote(token: str) -> str:
    assert token.startswith('"') and token.endswith('"'), token
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), token[1:-1])


def parse_dot(text: str) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, dict[str, str]]]]:
    """digraph ID { stmt* }: nodes with their attributes and edges; fails on anything else."""
    t = _tokens(text)
    assert t[:3] == ["digraph", "step", "{"] and t[-1] == "}", t[:3]
    nodes: dict[str, dict[str, str]] = {}
    edges: list[tuple[str, str, dict[str, str]]] = []
    i = 3

    def attrs() -> dict[str, str]:
        nonlocal i
        out: dict[str, str] = {}
        if t[i] != "[":
            return out
        i += 1
        while t[i] != "]":
            key, eq, value = t[i : i + 3]
            assert eq == "=", t[i : i + 3]
            out[key] = value
            i += 3
            if t[i] == ",":
                i += 1
        i += 1
        return out

    while i < len(t) - 1:
        if t[i + 1] == "=":  # graph attribute: rankdir=LR; label="…"; labelloc=t;
            i += 3
        elif t[i] in ("node", "edge", "graph"):
            i += 1
            attrs()
        elif t[i + 1] == "->":
            src, dst = _unquote(t[i]), _unquote(t[i + 2])
            i += 3
            edges.append((src, dst, attrs()))
        else:
            name = _unquote(t[i])
            i += 1
            nodes[name] = attrs()
        assert t[i] == ";", t[i - 2 : i + 2]
        i += 1
    return nodes, edges


@pytest.mark.parametrize(("case", "loss", "output"), RANDOM[:: len(CASES) // 4 or 1])
def test_dot_parses_and_holds_every_node_and_edge_even_with_odd_names(case: int, loss: str, output: str) -> None:
    record = _record(case, loss, output, odd=True)
    g = op_graph(record)
    nodes, edges = parse_dot(dot.render(record))
    assert list(nodes) == list(g.nodes)
    assert [(s, d) for s, d, _ in edges] == [(e.src, e.dst) for e in g.edges]
    for node_id, node in g.nodes.items():
        label = _unquote(nodes[node_id]["label"]).split("\n")
        assert label[1] == f"value {fmt(node.value)}"
        assert (len(label) == 3) == (node.grad is not None)


def test_explain_format_dot_is_the_reference_graph(runner: CliRunner) -> None:
    result = runner.invoke(main, ["explain", "--format", "dot"])
    assert result.exit_code == 0, result.output
    nodes, edges = parse_dot(result.output)
    assert len(nodes) == 24 and len(edges) == 26  # 6 products × 2 operands, 9 into sums, 3 activations, 2 into the loss
    assert ("b1", "z_h1", {"label": '"1"'}) in edges and ("b1", "z_h2", {"label": '"1"'}) in edges
    assert _unquote(nodes["b1"]["label"]).split("\n") == ["b1", "value 0.35", "∂L/∂b1 = 0.0284"]


# -- the SVG -------------------------------------------------------------------------------------


def _boxes_overlap(svg: str) -> list[tuple[str, str]]:
    """Pairs of words whose boxes (about 0.55 em a character) overlap."""
    boxes = []
    for t in read_svg(svg).labels:
        w = 0.55 * t.size * len(t.text)
        x0 = t.x if t.anchor == "start" else t.x - w / 2
        boxes.append((x0, t.y - 0.75 * t.size, x0 + w, t.y, t.text))
    return [
        (a[4], b[4])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
    ]


def _network(widths: list[int], examples: int = 1) -> StepRecord:
    rng = np.random.default_rng(sum(widths))
    doc = {
        "inputs": widths[0],
        "loss": "half_squared_error",
        "layers": [{"units": u, "activation": "tanh", "bias": 0.1} for u in widths[1:]],
        "examples": [
            {"x": rng.normal(size=widths[0]).tolist(), "y": rng.normal(size=widths[-1]).tolist()}
            for _ in range(examples)
        ],
        "training": {"batch": "full"},
    }
    return explain_step(netfile.from_dict(doc))


@pytest.mark.parametrize("widths", [[2, 2, 1], [4, 4, 2], [5, 4, 1], [3, 5, 2]])
def test_up_to_forty_operations_every_one_is_drawn_and_no_words_overlap(widths: list[int]) -> None:
    record = explain_step(netfile.load()) if widths == [2, 2, 1] else _network(widths)
    g = op_graph(record)
    assert g.operations <= MAX_OPERATIONS
    svg = opgraph_svg(record)
    ET.fromstring(svg)
    drawing = read_svg(svg)
    assert len(drawing.circles) == g.operations
    words = {t.text for t in drawing.labels}
    assert {n.label for n in g.nodes.values() if n.kind in ("param", "add")} <= words
    assert _boxes_overlap(svg) == []


def test_a_large_step_is_drawn_one_node_a_neuron_and_says_so() -> None:
    record = _network([3, 8, 8, 2], examples=3)
    count = op_graph(record).operations
    assert count > MAX_OPERATIONS
    drawing = read_svg(opgraph_svg(record))
    assert len(drawing.circles) == 8 + 8 + 2 + 1  # the neurons and the loss
    assert any(f"{count} operations, drawn one node a neuron" in t.text for t in drawing.labels)


def test_a_batch_too_tall_to_draw_shows_its_first_example_and_says_so() -> None:
    record = _network([2, 2, 1], examples=6)
    assert op_graph(record).operations == 6 * 13 + 1 > MAX_OPERATIONS  # and the mean of the 6 losses
    texts = [t.text for t in read_svg(opgraph_svg(record)).labels]
    assert any("example 1 of 6 only (79 operations in all)" in t for t in texts)
    assert "z_h1#1" in texts and "z_h1#2" not in texts


def test_a_column_too_tall_says_how_many_nodes_it_leaves_out() -> None:
    record = _network([2, 40, 1])
    texts = [t.text for t in read_svg(opgraph_svg(record)).labels]
    assert "… 11 more not drawn" in texts  # 40 neurons, 29 drawn in the column


def test_latex_draws_the_graph_with_every_edge_and_operation(reference) -> None:  # type: ignore[no-untyped-def]
    record = explain_step(reference)
    d = opgraph_drawing(record)
    tex = picture.picture(d)
    assert tex.count(" l S") == len(d.lines) == 3 * len(op_graph(record).edges)  # each edge and its arrowhead
    assert tex.count(" c b") == 13
