"""The worked-example documents: Markdown, LaTeX, HTML and the SVG diagram, read as a reader would."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from latex2mathml.converter import convert

from chainrule.cli.root import main
from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.record.step import explain_step, explain_steps
from chainrule.views import escape, html, latex, markdown, svg
from chainrule.views.numbers import fmt
from chainrule.views.text import plain_text, render_records
from helpers import pdflatex

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "src" / "chainrule" / "examples"
sys.path.insert(0, str(ROOT / "scripts"))
import make_docs  # noqa: E402

# Every figure the hand-worked reference example (see test_reference.py) computes, as it prints
# it. Left out, with the reason: 0.2407 and 0.00135 (the exact values are 0.2406 and 0.00134; the
# reference slipped), 0.0555 (a typo for 0.0554 in one line), 0.0693 and 0.5307 (hand rounding of
# η·∂L/∂b2 = 0.06925: test_hand reproduces them), and the update table's 0.40865, 0.35890, 0.29925,
# 0.249625, 0.199325, 0.149665 (θ − η·g with the 4-digit gradients, not the exact step).
REFERENCE_FIGURES = [
    "0.3775",
    "0.3925",
    "0.5933",
    "0.5969",
    "1.1059",
    "0.7514",
    "0.2748",
    "0.7414",
    "0.2486",
    "0.1868",
    "0.0822",
    "0.0827",
    "0.4067",
    "0.2413",
    "0.1385",
    "0.0554",
    "0.0134",
    "0.00067",
    "0.4031",
    "0.0623",
    "0.0150",
    "0.00075",
    "0.00150",
    "0.0284",
    "0.3589",
    "0.4087",
    "0.2993",
    "0.2496",
    "0.3358",
    "0.0142",
]

NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+")


def _round(text: str, places: int) -> str:
    return str(Decimal(text).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, ["explain", *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def reference_md() -> str:
    return _run("--format", "markdown")


def test_markdown_holds_every_reference_figure(reference_md: str) -> None:
    shown = NUMBER.findall(reference_md)
    for figure in REFERENCE_FIGURES:
        places = len(figure.split(".")[1])
        assert any(_round(x, places) == figure for x in shown), figure


def test_markdown_reads_path_by_path_like_the_reference(reference_md: str) -> None:
    for param in ("w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2"):
        assert f"### Gradient of {param}" in reference_md
    assert "delta form" not in reference_md
    assert "**Path through h1**" in reference_md and "**Path through h2**" in reference_md
    # w1's product, one multiplication at a time, as the reference writes it
    for step in ("0.7414 \\cdot 0.1868 \\approx 0.1385", "0.1385 \\cdot 0.4 \\approx 0.0554", "0.0554 \\cdot 0.2413"):
        assert step in reference_md
    assert r"\frac{\partial \hat{y}}{\partial z_{\text{out}}}" in reference_md


def _math_chunks(md: str) -> list[str]:
    blocks = re.findall(r"^\$\$\n(.*?)\n\$\$$", md, flags=re.S | re.M)
    rest = re.sub(r"^\$\$\n.*?\n\$\$$", "", md, flags=re.S | re.M)
    inline = []
    for line in rest.splitlines():
        assert line.count("$") % 2 == 0, line
        inline += re.findall(r"\$([^$]+)\$", line)
    return blocks + inline


def _balanced(tex: str) -> bool:
    depth = 0
    for c in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth < 0:
            return False
    begins = re.findall(r"\\begin\{(\w+\*?)\}", tex)
    ends = re.findall(r"\\end\{(\w+\*?)\}", tex)
    return depth == 0 and sorted(begins) == sorted(ends)


@pytest.mark.parametrize("example", ["forward-backprop.toml", "softmax-classifier.toml", "xor.toml"])
def test_markdown_math_is_closed_balanced_and_parses(example: str) -> None:
    md = _run(str(EXAMPLES / example), "--format", "markdown")
    assert md.count("\n$$\n") + md.startswith("$$\n") >= 2
    assert len(re.findall(r"^\$\$$", md, flags=re.M)) % 2 == 0  # every $$ block closed
    chunks = _math_chunks(md)
    assert len(chunks) > 40
    for tex in chunks:
        assert _balanced(tex), tex
        if "aligned" not in tex:
            assert "<math" in convert(tex)  # a LaTeX parser reads it


def test_softmax_network_uses_the_delta_form_with_each_delta_once() -> None:
    net = netfile.load(EXAMPLES / "softmax-classifier.toml")
    record = explain_step(net)
    md = markdown.render([record])
    assert "**delta form**" in md
    assert "Path through" not in md
    for k, deltas in enumerate(record.deltas):
        for d in deltas:
            head = rf"\delta_{{{d.neuron}}}^{{({k + 1})}} &="
            rows = [line for line in md.splitlines() if line.startswith(head)]
            assert len(rows) == 1, head
            value = fmt(d.value).replace("−", "-")
            block = md[md.index(rows[0]) :].split("\\\\\n")
            assert value in block[0] or value in block[1], (head, value)  # the number equals the engine's
    for name in record.chains:
        g = fmt(record.values[f"dL/d{name}"]).replace("−", "-")
        section = md.split(f"### Gradient of {escape.markdown(name)}\n")[1].split("###")[0]
        assert g in section, name


@pytest.fixture(scope="module")
def reference_tex() -> str:
    return latex.render([explain_step(netfile.load())])


def test_latex_is_a_complete_balanced_document(reference_tex: str) -> None:
    assert reference_tex.startswith(r"\documentclass")
    assert reference_tex.rstrip().endswith(r"\end{document}")
    body = reference_tex[reference_tex.index(r"\begin{document}") :]
    depth = 0
    for c in re.sub(r"\\[{}%&$#_]", "", body):
        depth += {"{": 1, "}": -1}.get(c, 0)
        assert depth >= 0
    assert depth == 0
    begins = re.findall(r"\\begin\{([\w*]+)\}", body)
    ends = re.findall(r"\\end\{([\w*]+)\}", body)
    assert sorted(begins) == sorted(ends)


def _pdflatex(tmp_path: Path, tex: str) -> str:
    """Compile with pdflatex (scripts/check installs it in CI); the PDF's text, by pdftotext."""
    (tmp_path / "worked.tex").write_text(tex, encoding="utf-8")
    assert shutil.which("pdflatex"), "pdflatex is needed: scripts/check installs texlive"
    run = pdflatex(tmp_path, "worked.tex")
    assert run.returncode == 0, run.stdout[-2000:]
    return subprocess.run(["pdftotext", "worked.pdf", "-"], cwd=tmp_path, capture_output=True, text=True).stdout


def test_latex_compiles_and_its_pdf_reads_right(tmp_path: Path, reference_tex: str) -> None:
    text = _pdflatex(tmp_path, reference_tex)
    for words in ("Forward & Backpropagation", "Backward pass", "Gradient of w1", "0.3589", "0.0284", "0.1868"):
        assert words in text, words


class _Strict(HTMLParser):
    """Every non-void element closed in order."""

    VOID = frozenset({"meta", "br", "img", "hr", "link", "input", "col", "mspace"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()


def test_html_is_one_offline_file_with_mathml(tmp_path: Path) -> None:
    out = tmp_path / "worked.html"
    _run("--format", "html", "-o", str(out))
    assert [p.name for p in tmp_path.iterdir()] == ["worked.html"]
    page = out.read_text(encoding="utf-8")
    assert not re.search(r"https?:", page)
    assert "<script" not in page and "<link" not in page and "@import" not in page
    parser = _Strict()
    parser.feed(page)
    parser.close()
    assert parser.stack == []
    assert {"math", "mfrac", "mtable", "svg", "table"} <= parser.tags
    assert page.count("<math") > 50
    assert "0.0822" in page and "0.3358" in page


@pytest.mark.parametrize("example", ["forward-backprop.toml", "softmax-classifier.toml"])
def test_svg_parses_and_names_every_neuron_and_weight(example: str) -> None:
    net: Network = netfile.load(EXAMPLES / example)
    record = explain_step(net)
    for gradients in (False, True):
        root = ET.fromstring(svg.network_svg(record, gradients=gradients))
        texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
        words = {w for t in texts for w in re.split(r"[\s=∂/]+", t)}
        for name in [*record.inputs, *(n for layer in record.layers for n in layer.neurons)]:
            assert name in words, name
        for ns in record.sums:
            for weight, _ in ns.terms:
                assert weight in words, weight
                value = fmt(record.values[f"dL/d{weight}" if gradients else weight])
                assert any(t.endswith(value) and weight in t for t in texts), weight
    dashed = ET.fromstring(svg.network_svg(record)).findall(".//{http://www.w3.org/2000/svg}line[@stroke-dasharray]")
    negative = sum(record.values[w] < 0 for ns in record.sums for w, _ in ns.terms)
    assert len(dashed) == negative  # a negative weight is told by its dashes, not by colour


def test_figures_are_written_beside_markdown_and_drawn_inside_latex(tmp_path: Path) -> None:
    _run("--format", "markdown", "-o", str(tmp_path / "worked.md"), "--figures", str(tmp_path / "figures"))
    md = (tmp_path / "worked.md").read_text(encoding="utf-8")
    assert "](figures/network-step1.svg)" in md and "](figures/gradients-step1.svg)" in md
    for fig in ("network-step1.svg", "gradients-step1.svg"):
        ET.parse(tmp_path / "figures" / fig)
    # LaTeX cannot show SVG: with --figures or without, it draws the diagrams itself, never an empty box
    # (the two network diagrams here; the third, the computational graph, is tested in test_opgraph).
    record = explain_step(netfile.load())
    for args in ([], ["--figures", str(tmp_path / "figs")]):
        tex = _run("--format", "latex", *args)
        assert tex.count(r"\begin{picture}") == 3 and r"\fbox{" not in tex and ".svg" not in tex
        for name in ("w5 = 0.4", "∂L/∂w5 = 0.0822", "target y = 0.01"):
            assert latex.text(name).replace(r"\slash{}", "/") in tex, name
        strokes = re.findall(r"\\pdfliteral\{(.*?)\}", tex)
        edges = sum(len(ns.terms) for ns in record.sums)
        neurons = len(record.inputs) + sum(len(layer.neurons) for layer in record.layers)
        assert [(s.count(" l S"), s.count(" c b")) for s in strokes[:2]] == [(edges, neurons)] * 2  # 6 edges, 5 neurons


def test_only_tells_one_parameters_story() -> None:
    md = _run("--format", "markdown", "--only", "w3")
    assert md.count("### Gradient of") == 1 and "### Gradient of w3" in md
    # the new value at the one precision of the document's updates, the row and the table alike
    assert r"| $w_{3}$ | $0.25$ | $0.000750$ | $0.249625$ |" in md


def test_steps_follow_one_another() -> None:
    md = _run("--format", "markdown", "--steps", "3", "--digits", "8")
    assert [h for h in md.splitlines() if h.startswith("## Step")] == [
        "## Step 1 (example 1)",
        "## Step 2 (example 1)",
        "## Step 3 (example 1)",
    ]
    records = explain_steps(netfile.load(), 0, 3)
    assert records[1].values["w5"] == records[0].values["w5_new"]
    assert records[2].values["loss"] < records[1].values["loss"] < records[0].values["loss"]
    step2 = md.split("## Step 2")[1].split("## Step 3")[0]
    assert f"| $w_{{5}}$ | ${fmt(records[0].values['w5_new'], 8)}$ |" in step2


def test_digits_changes_what_is_shown_not_what_is_computed() -> None:
    md = _run("--format", "markdown", "--digits", "8")
    assert "0.08216704" in md and "0.3589164797" in md  # updates: to the decimals that make θ − η·g hold


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--format", "markdown", "--only", "w9"], "--only w9: expected a parameter name"),
        (["--format", "pdf"], "Invalid value for '--format'"),
        (["--hand", "0"], "Invalid value for '--hand'"),
    ],
)
def test_bad_options_say_what_was_expected(args: list[str], words: str) -> None:
    result = CliRunner().invoke(main, ["explain", *args])
    assert result.exit_code == 2
    assert words in result.output
    assert "Traceback" not in result.output


def test_figures_into_a_file_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["explain", "--format", "markdown", "--figures", str(blocker / "sub"), "-o", str(tmp_path / "x.md")]
    )
    assert result.exit_code == 2
    assert "--figures" in result.output and "Traceback" not in result.output
    assert blocker.read_text(encoding="utf-8") == "mine"
    assert not (tmp_path / "x.md").exists()


def test_views_render_the_same_record_in_all_three_formats() -> None:
    record = explain_step(netfile.load(EXAMPLES / "xor.toml"))
    md, tex, page = markdown.render([record]), latex.render([record]), html.render([record])
    for number in ("0.5", fmt(record.values["loss"]), fmt(record.values["dL/dw5"])):
        assert number in md and number in tex and number in page


def test_latex_of_a_batch_worked_by_hand_over_steps_compiles(tmp_path: Path) -> None:
    tex = _run(str(EXAMPLES / "softmax-classifier.toml"), "--format", "latex", "--hand", "4", "--steps", "2")
    text = _pdflatex(tmp_path, tex)
    for words in ("Step 2", "delta form", "Rounding by hand", "last digit changed"):
        assert words in text, words


def test_the_generated_documents_under_docs_are_what_the_code_writes_now(tmp_path: Path) -> None:
    written = make_docs.generate(tmp_path)
    assert len(written) == 5
    for path in written:
        committed = make_docs.DOCS / path.relative_to(tmp_path)
        assert committed.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), (
            f"{committed} is out of date: run scripts/make_docs.py"
        )


def test_a_long_network_path_breaks_at_its_slashes_instead_of_running_into_the_margin(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*[f"20261130.010203.{i}56789.000012345.{i}" for i in range(4)])  # no hyphenation
    deep.mkdir(parents=True)
    net = deep / "forward-backprop-copied-here-to-show-a-long-path.toml"
    net.write_text((EXAMPLES / "forward-backprop.toml").read_text(encoding="utf-8"), encoding="utf-8")
    tex = _run(str(net), "--format", "latex")
    build = tmp_path / "build"
    build.mkdir()
    text = _pdflatex(build, tex)
    assert "Overfull" not in (build / "worked.log").read_text(encoding="utf-8", errors="replace")

    def bare(s: str) -> str:  # as pdftotext gives a wrapped path back: no line breaks, hyphens or _ rules
        return re.sub(r"[\s/_-]+", "", s)

    assert bare(str(net)) in bare(text)


def test_latex_of_adam_with_a_gradient_below_1e_8_compiles(tmp_path: Path) -> None:
    """Adam squares every gradient; one of 6.5×10⁻⁹ is squared as (6.541×10⁻⁹)² (it was written
    6.541 \\times 10^{-9}^{2}, which pdflatex refuses: a double superscript)."""
    doc = {
        "inputs": 2, "loss": "half_squared_error",
        "layers": [
            {"name": "h0", "units": 3, "activation": "identity", "weights": [[0.1, -0.7], [-0.4, 0.2], [0.6, -0.7]],
             "bias": [-0.5, 0.9, 0.3]},
            {"name": "h1", "units": 1, "activation": "identity", "weights": [[0.5, 0.3, -0.6]], "bias": [-0.5]},
        ],
        "examples": [{"x": [-0.6, 0.0], "y": [0.1]}, {"x": [1.0, 0.6], "y": [-0.8]}],
        "training": {"learning_rate": 0.5, "batch": "full", "optimizer": "adam"},
    }  # fmt: skip
    records = explain_steps(netfile.from_dict(doc), 0, 3)
    tex = latex.render(records)
    assert r"\left(6.541 \times 10^{-9}\right)^{2}" in tex
    assert "(6.541×10⁻⁹)²" in plain_text(render_records(records))
    _pdflatex(tmp_path, tex)
