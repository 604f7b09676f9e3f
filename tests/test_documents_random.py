"""Documents of random networks with hostile names: LaTeX compiles, HTML and Markdown carry no markup from a name.

Fifty networks from `odd_document` (TeX specials, HTML, $, non-ASCII in every name and title;
1–4 layers; every activation/loss pair; batches; some over two steps or worked by hand) and every
bundled example go through `chainrule explain`, and pdflatex compiles each LaTeX document.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import example, given
from hypothesis import strategies as st

from chainrule.cli.root import main
from chainrule.io import netfile
from chainrule.record.step import explain_steps
from chainrule.views import escape, html, markdown
from chainrule.views.doc import Block, Heading
from helpers import CASES, odd_document, pdflatex

EXAMPLES = Path(__file__).resolve().parent.parent / "src" / "chainrule" / "examples"
N_RANDOM = 50
SECRET = "LEAKEDFROMAFILE"  # what \input{secret} would print if a name could run a command


def _options(i: int) -> list[str]:
    return [["--steps", "2"], ["--hand", "4"], [], [], []][i % 5]


def _shaped(path: Path) -> bool:
    """A shaped network's example (conv, rnn): its views are tested with the shaped explanations."""
    import tomllib

    from chainrule.io.modelfile import is_shaped

    return is_shaped(tomllib.loads(path.read_text(encoding="utf-8")))


def _documents(root: Path) -> list[tuple[Path, list[str], dict[str, Any] | None]]:
    """(network file, options, its document) for every example with examples and every random network."""
    out: list[tuple[Path, list[str], dict[str, Any] | None]] = [
        (p, [], None)
        for p in sorted(EXAMPLES.glob("*.toml"))
        if "[[examples]]" in p.read_text(encoding="utf-8") and not _shaped(p)
    ]
    rng = np.random.default_rng(20261130)
    for i in range(N_RANDOM):
        doc = odd_document(rng, *CASES[i % len(CASES)])
        if i % 7 == 0:  # a name that is a TeX command reading a file, and one that links in MathML
            doc["inputs"][0] = r"\input{secret}"
            doc["layers"][0]["name"] = r"\href{javascript:alert(1)}{x}<img src=x onerror=alert(1)>"
        path = root / f"odd{i}.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        out.append((path, _options(i), doc))
    return out


def _explain(path: Path, fmt: str, options: list[str]) -> str:
    result = CliRunner().invoke(main, ["explain", str(path), "--format", fmt, *options])
    assert result.exit_code == 0, (path, result.output[-2000:])
    return result.output


def _compile(workdir: Path, tex: str) -> tuple[int, str, str, str]:
    """pdflatex once, in its own directory beside secret.tex; (status, log tail, PDF text, PDF fonts)."""
    workdir.mkdir()
    (workdir / "secret.tex").write_text(SECRET + "\n", encoding="utf-8")
    (workdir / "doc.tex").write_text(tex, encoding="utf-8")
    run = pdflatex(workdir, "doc.tex")
    if run.returncode:
        return run.returncode, run.stdout[-3000:], "", ""
    text = subprocess.run(["pdftotext", "doc.pdf", "-"], cwd=workdir, capture_output=True, text=True).stdout
    fonts = subprocess.run(["pdffonts", "doc.pdf"], cwd=workdir, capture_output=True, text=True).stdout
    return 0, "", text, fonts


def _plain(s: str) -> str:
    """Text as pdftotext gives it back, compared loosely: no accents apart, no spaces, _ as a gap."""
    s = unicodedata.normalize("NFKD", s.replace("ı", "i").replace("_", ""))
    return re.sub(r"\s+", "", "".join(c for c in s if not unicodedata.combining(c)))


def _names(path: Path, everything: bool = False) -> list[str]:
    """The inputs' and neurons' names (with everything: the layers' and parameters' too)."""
    record = explain_steps(netfile.load(path), 0, 1)[0]
    names = [*record.inputs, *(n for layer in record.layers for n in layer.neurons)]
    return names + [layer.name for layer in record.layers] + [u.param for u in record.updates] if everything else names


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, list[str], dict[str, Any] | None]]:
    return _documents(tmp_path_factory.mktemp("networks"))


def test_latex_of_every_example_and_random_network_compiles_with_its_diagrams(
    documents: list[tuple[Path, list[str], dict[str, Any] | None]], tmp_path: Path
) -> None:
    assert shutil.which("pdflatex"), "pdflatex is needed: scripts/check installs texlive"
    texs = [_explain(path, "latex", options) for path, options, _ in documents]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(_compile, [tmp_path / f"d{i}" for i in range(len(texs))], texs))
    for (path, options, doc), tex, (status, log, text, fonts) in zip(documents, texs, results, strict=True):
        assert status == 0, (path.name, options, log)
        assert "Type 3" not in fonts, (path.name, fonts)  # no bitmap font: every glyph from the base fonts
        steps = 2 if options == ["--steps", "2"] else 1
        # Both diagrams of every step are drawn in the PDF: their titles, legends and every edge.
        plain = _plain(text)
        assert plain.count(_plain("edges: weights;")) == steps, path.name
        assert plain.count(_plain("edges: ∂L/∂w;")) == steps, path.name
        # ... and the computational graph of every step (views/opgraph_svg.py), the third picture.
        assert plain.count(_plain("Computational graph")) == steps, path.name
        assert tex.count(r"\begin{picture}") == 3 * steps and r"\pdfliteral" in tex
        assert r"\texttt{U+" not in tex  # every character of the prose and these names has a glyph
        for name in _names(path):
            assert _plain(name) in plain, (path.name, name)  # a name shows as itself
        assert SECRET not in text, path.name  # \input{secret} in a name read no file
        if doc is not None:
            assert _plain(doc["title"]) in plain, path.name
            if doc["inputs"][0] == r"\input{secret}":
                assert _plain(r"\input{secret}") in plain and "javascript:alert(1)" in text


class _Reader(HTMLParser):
    """Every tag and attribute, and the text in MathML and elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


_STRAY_TEX = re.compile(r"\\[_{}#$%&]|\\text|\\texttt|\\char|\\textbackslash|\\textless|\\slash")


def test_html_of_the_same_networks_shows_names_as_text_only(
    documents: list[tuple[Path, list[str], dict[str, Any] | None]],
) -> None:
    for path, options, doc in documents:
        if doc is None:
            continue
        page = _explain(path, "html", options)
        reader = _Reader()
        reader.feed(page)
        reader.close()
        text = "".join(reader.text)
        names = [*_names(path, everything=True), doc["title"]]
        rest = text.replace("\u00a0", " ")
        for name in sorted(names, key=len, reverse=True):
            rest = rest.replace(name, "")  # a name may hold a backslash of its own
        assert not _STRAY_TEX.search(rest), (path.name, _STRAY_TEX.search(rest))
        assert "script" not in reader.tags and "img" not in reader.tags, path.name
        assert not [a for a in reader.attrs if a[0] == "href" or a[0].startswith("on")], path.name
        assert "javascript:" not in " ".join(v or "" for _, v in reader.attrs), path.name
        shown = text.replace("\u00a0", " ")
        for name in names:
            assert escape.terminal(name) in shown, (path.name, name)


def test_markdown_of_the_same_networks_holds_no_markup_from_a_name(
    documents: list[tuple[Path, list[str], dict[str, Any] | None]],
) -> None:
    for path, options, doc in documents:
        if doc is None:
            continue
        md = _explain(path, "markdown", options)
        # No HTML tag, comment or entity can start anywhere: every < and & from a name is escaped.
        assert not re.search(r"(?<!\\)<[A-Za-z/!?]", md), path.name
        assert not re.search(r"(?<!\\)&[#A-Za-z]", md), path.name
        assert "# " + escape.markdown(doc["title"]) in md
        # Outside math, every $ from a name is escaped; the math spans pair up.
        for line in md.splitlines():
            assert len(re.findall(r"(?<!\\)\$", line)) % 2 == 0, (path.name, line)


# -- the escaping rules themselves, over any text --------------------------------------------------

_NAMES = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.sampled_from("äöüïéèçñßøæœłλΣΔπ→−·"),
    ),
    max_size=30,
)


@given(_NAMES)
def test_latex_words_read_back_and_hold_no_command_of_their_own(name: str) -> None:
    tex = escape.latex(name)
    assert escape.latex_decode(tex) == name
    # Every backslash starts one of the escapes, and every brace belongs to one: none from the name.
    bare = re.sub(
        r"\\(?:texttt\{\\char\d+\}|texttt\{U\+[0-9A-F]+\}|[#%&_{}]|text(?:backslash|less|greater|bar)\{\}"
        r"|[`'^~=u.\"rHvc]\{\\?[A-Za-z]\}|(?:ss|ae|oe|o|l|i)\{\})|\$\\?[A-Za-z{}^0-9-]*\$",
        "",
        tex,
    )
    assert not re.search(r"[\\{}$#%&_^~]", bare), (name, tex, bare)


@given(st.text(max_size=30))
@example("&\x80")  # shown as &\\x80: an escaped backslash, not an entity
def test_terminal_and_html_words_carry_no_control_character_or_markup(name: str) -> None:
    shown = escape.terminal(name)
    assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in shown)
    page = escape.html(name)
    assert not re.search(r"[<>\"']", page) and not re.search(r"&(?!amp;|lt;|gt;|quot;|#x27;)", page)
    md = escape.markdown(name)
    # An escaped backslash is a character of its own: it must not join what stood either side of it.
    assert not re.search(r"(?<!\\)([<>$|*_`\[\]]|&[#A-Za-z0-9])", md.replace("\\\\", " "))
    assert all(escape.visible(c) in shown for c in name if unicodedata.category(c) in ("Cc",))


def test_a_title_is_words_in_markdown_and_html() -> None:
    blocks: list[Block] = [Heading(1, "<script>x</script> & $y$")]
    assert markdown.render_blocks(blocks) == "# \\<script\\>x\\</script\\> & \\$y\\$\n"
    assert "<h1>&lt;script&gt;x&lt;/script&gt; &amp; $y$</h1>" in html.render_blocks(blocks)


def test_characters_without_a_glyph_show_as_their_code_and_control_characters_show_visibly(tmp_path: Path) -> None:
    doc = {
        "inputs": ["日本", "🙂", "esc\x1b[31m", "new\nline"],
        "layers": [
            {"units": 2, "activation": "sigmoid", "name": "Ωmega\u202eevil"},
            {"units": 1, "activation": "sigmoid"},
        ],
        "loss": "half_squared_error",
        "examples": [{"x": [0.1, 0.2, 0.3, 0.4], "y": [0.5]}],
        "title": "Ünïcödé 🙂 \x07bell",
    }
    path = tmp_path / "unicode.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    status, log, text, fonts = _compile(tmp_path / "build", _explain(path, "latex", []))
    assert status == 0, log
    assert "Type 3" not in fonts
    for shown in ("U+65E5U+672C", "U+1F642", "escU+001B[31m", "newU+000Aline", "U+0007bell", "Ωmega"):
        assert shown in unicodedata.normalize("NFKC", re.sub(r"\s+", "", text)), shown  # pdftotext's Ω is the ohm sign
    page, md = _explain(path, "html", []), _explain(path, "markdown", [])
    for out in (page, md):
        assert not re.search("[\x07\x1b\u202e]", out) and "␇bell" in out
    assert "esc␛[31m" in page and "new␊line" in page
    assert r"\text{esc\texttt{U+001B}[31m}" in md  # Markdown's math holds the LaTeX of the name
    assert "日本" in page and "🙂" in page and "Ωmega\\u202eevil" in page
    assert escape.terminal("h\x1b[2J1\r\n\u202e") == "h␛[2J1␍␊\\u202e"
