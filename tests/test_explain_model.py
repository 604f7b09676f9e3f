"""Explaining a shaped network's step in every format (views.story_model*, views.model_json, cli).

Over random Models of every op type (tests/test_record_model.random_model: odd names, every loss,
batches): every format renders, the terminal holds no TeX markup, the HTML's math is well formed,
the JSON holds every value of the record; LaTeX compiles with pdflatex; `chainrule explain conv` and
`rnn` work in every format, and the options a shaped network does not take are refused in one line.
"""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings

from chainrule.engine.model import Model
from chainrule.record.model_step import explain_model_step, explain_model_steps
from chainrule.views import escape, html, latex, markdown
from chainrule.views.model_dot import render_model_dot
from chainrule.views.model_json import model_to_dict, render_model
from chainrule.views.story_model import model_story
from chainrule.views.text import plain_text, render_blocks
from helpers import assert_one_line, pdflatex, run_cli
from test_opgraph import _unquote, parse_dot
from test_record_model import KINDS, MODELS, OUTPUT, random_model

TEX_MARKUP = re.compile(r"\\[A-Za-z]+|\$|\^\{|_\{")


@settings(max_examples=8)  # about a second each: every format of a whole document
@given(MODELS)
def test_every_format_renders_and_the_terminal_holds_no_tex(model: Model) -> None:
    records = explain_model_steps(model, 0, 2)
    blocks = model_story(records)
    out = plain_text(render_blocks(blocks), width=200)
    ops = records[0].ops
    for op in ops:
        assert f"Layer {escape.terminal(op.name)}" in out
    typed = [n for op in ops for n in (op.name, *op.tensors.values(), *(name for name, _, _ in op.inner))]
    for name in sorted({escape.terminal(n) for n in typed}, key=len, reverse=True):
        out = out.replace(name, "NAME")  # what the user typed is shown as typed, $ and \\ included
    assert not TEX_MARKUP.search(out), TEX_MARKUP.search(out)
    assert "nan" not in out.split(), "every grid cell names a value of the record"
    md = markdown.render_blocks(blocks)
    for piece in re.findall(r"(?<!\$)\$(?!\$)([^$\n]*)\$(?!\$)", md):  # no math opened inside math
        assert "$" not in piece, piece
    for block in re.findall(r"\$\$\n(.*?)\n\$\$", md, flags=re.S):
        assert "$" not in block, block
    assert "\\begin{document}" in latex.render_blocks(blocks)
    page = html.render_blocks(blocks)
    for m in re.findall(r"<math\b.*?</math>", page, flags=re.S):
        ET.fromstring(m.replace("&nbsp;", " "))  # every element closes where it opens
    for drawing in re.findall(r"<svg\b.*?</svg>", page, flags=re.S):
        ET.fromstring(drawing)  # a name in a drawing is text, never markup


@settings(max_examples=50)
@given(MODELS)
def test_the_json_holds_every_value_of_the_record_by_name(model: Model) -> None:
    record = explain_model_step(model)
    data = json.loads(render_model([record]))
    assert data["values"] == record.values
    assert [layer["name"] for layer in data["layers"]] == [op.name for op in record.ops]
    assert model_to_dict(record)["values"] is not record.values  # a copy: the JSON cannot change the record


def test_the_story_works_each_rule_by_name() -> None:
    """The conv example's text names the correlation, the flipped kernel and max-pool's routing with
    their numbers; a batchnorm model its three paths; a residual its two; an RNN its sum over time."""
    cases = {
        "pool": ("correlation of the layer's input", "flipped kernel"),
        "batchnorm": ("three paths", "through μ", "The first element"),
        "residual": ("through the skip", ", inside res 1"),
        "rnn": ("Backpropagation through time", "t = 1"),
    }
    for kind, phrases in cases.items():
        model = next(m for seed in range(40) if (m := random_model(seed, kind, "cross_entropy")) and _has(m, kind))
        out = plain_text(render_blocks(model_story([explain_model_step(model)])), width=200)
        for phrase in phrases:
            assert phrase in out, (kind, phrase)


def _has(model: Model, kind: str) -> bool:
    kinds = {op.kind for op in model.ops}
    return {"pool": "conv2d", "batchnorm": "batchnorm", "residual": "residual", "rnn": "rnn"}[kind] in kinds


def test_the_worked_convolution_shows_its_window_and_its_value() -> None:
    result, _ = run_cli(["explain", "conv"])
    assert result.exit_code == 0, result.output
    # the first full window of the upright-edge kernel on the bar in column 3, as the example's comments say
    lines = result.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("z_conv1"))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("Every output"))
    worked = "\n".join(lines[start:end])
    assert "W_conv1[1,1,1,1] · x⁽¹⁾[1,1,1]" in worked and "b_conv1[1]" in worked
    assert worked.rstrip().endswith("= 0.1")  # the bar meets the kernel's 0 column: only the bias
    assert "The winner is a_conv1⁽¹⁾[1,1,2]." in result.output


@pytest.mark.parametrize("example", ["conv", "rnn"])
@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "latex", "html", "dot"])
def test_explain_the_built_in_examples_in_every_format(example: str, fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"{example}.{fmt}"
    result, warned = run_cli(["explain", example, "--format", fmt, "-o", str(out)])
    assert result.exit_code == 0 and warned == [], result.output
    text = out.read_text(encoding="utf-8")
    if fmt == "json":
        assert json.loads(text)["values"]["loss"] > 0
    elif fmt == "html":
        assert text.startswith("<!DOCTYPE html>")
    elif fmt == "dot":
        nodes, _ = parse_dot(text)
        assert "L" in nodes
    else:
        assert "backward pass" in text


@pytest.mark.parametrize("example", ["conv", "rnn"])
def test_the_latex_of_the_examples_compiles(example: str, tmp_path: Path) -> None:
    assert shutil.which("pdflatex"), "pdflatex is needed: scripts/check installs texlive"
    result, _ = run_cli(["explain", example, "--format", "latex", "--steps", "2", "-o", str(tmp_path / "step.tex")])
    assert result.exit_code == 0, result.output
    run = pdflatex(tmp_path, "step.tex")
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "step.pdf").stat().st_size > 0


HOSTILE = "$\\alpha^{2}$ 50%_{x} <b>&amp; #1"


def test_the_latex_of_every_layer_type_compiles_with_hostile_names(tmp_path: Path) -> None:
    """One document holding a step of each kind of model (every op type, every loss), the first
    layer renamed to TeX, HTML and the batch suffix's characters: pdflatex compiles it."""
    assert shutil.which("pdflatex"), "pdflatex is needed: scripts/check installs texlive"
    blocks = []
    for i, kind in enumerate(KINDS):
        model = random_model(i, kind, sorted(OUTPUT)[i % len(OUTPUT)])
        model.ops[0] = replace(model.ops[0], name=HOSTILE)
        blocks += model_story([explain_model_step(model)])
    document = latex.render_blocks(blocks)
    assert "\\pdfliteral" in document and "shown in the HTML version" not in document  # the windows drawn by LaTeX
    (tmp_path / "all.tex").write_text(document, encoding="utf-8")
    run = pdflatex(tmp_path, "all.tex")
    assert run.returncode == 0, run.stdout[-3000:]
    html_page = html.render_blocks(blocks)
    assert HOSTILE not in html_page and escape.html(HOSTILE) in html_page


@pytest.mark.parametrize(
    "args",
    [
        ["--form", "paths"],
        ["--form", "delta"],
        ["--form", "matrix"],
        ["--hand", "3"],
        ["--gradcheck"],
        ["--only", "w1"],
        ["--example", "99"],
    ],
)
def test_options_that_do_not_apply_are_refused_in_one_line(args: list[str]) -> None:
    err = assert_one_line(["explain", "conv", *args])
    assert "expected" in err or "not available" in err


def test_only_a_tensor_shows_its_update_alone() -> None:
    result, _ = run_cli(["explain", "conv", "--only", "W_out"])
    assert result.exit_code == 0, result.output
    update = result.output.rsplit("The update", 1)[1]
    assert "W_out[1,1]" in update and "W_conv1[1,1,1,1]" not in update


@given(MODELS)
def test_the_graph_parses_and_runs_from_the_input_through_every_layer_to_the_loss(model: Model) -> None:
    """DOT for Graphviz: every layer a node (a residual's inner layers too), every tensor a node into
    its layer, a path of edges from the input to the loss; odd names written as they are."""
    record = explain_model_step(model)
    nodes, edges = parse_dot(render_model_dot([record]))
    following = {src: dst for src, dst, attrs in edges if attrs.get("style") != "dashed" and src in ("in", *nodes)}
    labels = {n: _unquote(attrs.get("label", '""')) for n, attrs in nodes.items()}
    at, seen = "in", []
    while at != "L":
        at = following[at]
        seen.append(at)
    heads = [labels[n].split("\n")[0] for n in seen[:-1] if "\ninside " not in labels[n]]
    assert len(heads) == len(record.ops)
    for head, op in zip(heads, record.ops, strict=True):
        assert head.startswith(f"{escape.terminal(op.name)}: "), (head, op.name)
    for op in record.ops:
        for tensor in op.tensors.values():
            assert any(src.endswith(":" + tensor) for src, _, _ in edges), tensor
        for name, _, _ in op.inner:
            assert any(label.startswith(escape.terminal(name)) for label in labels.values())


def test_figures_draw_the_worked_windows_as_files_the_markdown_links(tmp_path: Path) -> None:
    out = tmp_path / "doc" / "conv.md"
    out.parent.mkdir()
    result, _ = run_cli(
        ["explain", "conv", "--format", "markdown", "--figures", str(tmp_path / "figs"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    drawn = sorted(p.name for p in (tmp_path / "figs").iterdir())
    assert drawn == ["window1-step1.svg", "window2-step1.svg"]
    text = out.read_text(encoding="utf-8")
    for name in drawn:
        assert f"](../figs/{name})" in text
        svg = ET.fromstring((tmp_path / "figs" / name).read_text(encoding="utf-8"))
        words = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
        assert "z_conv1, channel 1" in words or "z_pool1, channel 1" in words


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_a_saved_shaped_network_file_is_explained(tmp_path: Path, suffix: str) -> None:
    """The Done-when of #26: a network saved after a step (chainrule.save) explained in text, JSON and
    LaTeX, with the saved weights: the record's W before the update is the file's."""
    from chainrule.io import loader

    model = loader.load("conv")
    stepped = model.updated(model.backward(model.forward(model.x), model.y))
    path = tmp_path / f"conv-after{suffix}"
    loader.save(stepped, path)
    for fmt in ("text", "json", "latex"):
        result, warned = run_cli(["explain", str(path), "--format", fmt, "-o", str(tmp_path / f"out.{fmt}")])
        assert result.exit_code == 0 and warned == [], result.output
    values = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["values"]
    assert values["W_conv1[1,1,2,2]"] == float(stepped.parameters()["W_conv1"][0, 0, 1, 1])
    assert values["W_conv1[1,1,2,2]"] != float(model.parameters()["W_conv1"][0, 0, 1, 1])
