"""Jupyter display: a network and a step render as math and tables; the example notebook is current."""

from __future__ import annotations

import json
import re
import sys
from html.parser import HTMLParser

from chainrule.io import netfile
from chainrule.record.step import explain_step
from chainrule.views import notebook  # noqa: F401  (registers the display hooks, as Jupyter does)
from conftest import EXAMPLES, ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import make_notebook


def test_a_step_displays_as_its_worked_example() -> None:
    step = explain_step(netfile.load())
    md = step._repr_markdown_()
    assert "$$" in md and "0.0822" in md and "0.0284" in md
    html = step._repr_html_()
    assert "<math" in html and "0.0822" in html and "<html" not in html
    HTMLParser().feed(html)


def test_a_network_displays_its_diagram_and_parameters() -> None:
    net = netfile.load()
    html = net._repr_html_()
    assert "<svg" in html and "<td>w5</td><td>0.4</td>" in html
    assert "| b1 | 0.35 |" in net._repr_markdown_()


def test_the_example_notebook_is_what_its_cells_produce_today() -> None:
    stored = json.loads((EXAMPLES / "worked-example.ipynb").read_text())
    assert stored == make_notebook.notebook()
    outputs = [c["outputs"] for c in stored["cells"] if c["cell_type"] == "code"]
    assert outputs[1][0]["data"]["text/plain"] == "0.08216704056423078"
    assert "<math" in outputs[2][0]["data"]["text/html"]


def test_a_network_with_hostile_names_displays_them_as_text() -> None:
    doc = {
        "title": "<script>alert(1)</script> *bold*",
        "inputs": ["<b>x</b>", "y|z"],
        "layers": [{"name": "<i>h</i>", "units": 1, "activation": "sigmoid", "weights": [[0.1, 0.2]], "bias": 0.3}],
        "examples": [{"x": [0.5, 0.5], "y": [1.0]}],
    }
    net = netfile.from_dict(doc)
    md, html = net._repr_markdown_(), net._repr_html_()
    assert not re.search(r"(?<!\\)<", md)  # every < is backslash-escaped: Markdown shows it, never as a tag
    assert "<script" not in html and "<i>" not in html and "&lt;script&gt;" in html
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + len(net.parameter_names())
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 3 for row in rows)  # no cell split by a name's '|'
