"""The value-name grammar (record.names): every name built is read back to its parts, hostile names too."""

from __future__ import annotations

import re
from typing import get_args

from hypothesis import assume, given
from hypothesis import strategies as st

from chainrule.io import netfile
from chainrule.record.names import SLOTS, Kind, Name, Vocabulary, build, parse, readings
from chainrule.record.step import explain_step
from conftest import EXAMPLES

# The grammar's own characters and words, TeX, Markdown and non-ASCII: what a file's names may hold.
HOSTILE = st.lists(
    st.sampled_from([*"#/_dzaLy19 $\\{}<&αβ∂", "/dz_", "dL/d", "_new", "#2", "loss"]), min_size=1, max_size=6
).map("".join)
PER_PARAMETER = ("grad", "new", "change", "state", "prev")
PLAIN = st.from_regex(r"[b-ce-kn-x][0-9]{0,3}", fullmatch=True)  # h1, w5, b2: names as chainrule makes them


@st.composite
def named(draw: st.DrawFn, text: st.SearchStrategy[str]) -> tuple[Name, Vocabulary]:
    neurons = draw(st.lists(text, min_size=1, max_size=4, unique=True))
    outputs = draw(st.lists(st.sampled_from(neurons), min_size=1, unique=True))
    params = draw(st.lists(text, min_size=1, max_size=4, unique=True))
    vocab = Vocabulary.of(neurons, outputs, params, draw(st.lists(text, max_size=3)))
    kind = draw(st.sampled_from(get_args(Kind)))
    pool = {"target": outputs, "loss_term": outputs, "loss": [""], "value": sorted(vocab.given | vocab.parameters)}
    subject = draw(st.sampled_from(pool.get(kind, params if kind in PER_PARAMETER else neurons)))
    wrt = ""
    if kind in ("slope", "state", "prev"):
        wrt = draw(st.sampled_from(neurons if kind == "slope" else SLOTS))
    return Name(kind, subject, wrt, draw(st.integers(0, 12))), vocab  # type: ignore[arg-type]


@given(named(HOSTILE))
def test_every_name_is_among_its_readings_and_every_reading_builds_the_same_text(case: tuple[Name, Vocabulary]) -> None:
    name, vocab = case
    text = build(name)
    found = readings(text, vocab)
    assert name in found
    assert all(build(r) == text for r in found)
    if len(found) == 1:  # one way to read it: parse gives the parts back
        assert parse(text, vocab) == name


@given(named(PLAIN))
def test_names_without_the_grammars_characters_read_back_without_a_vocabulary(case: tuple[Name, Vocabulary]) -> None:
    name, _ = case
    if name.kind in ("value", "change") or name.subject.endswith("_prev"):
        return  # dw1 could be Δ of w1 or a value of its own: the grammar alone cannot tell
    assert parse(build(name)) == name


def test_every_name_of_a_step_parses_to_a_name_that_builds_it() -> None:
    rec = explain_step(netfile.load(EXAMPLES / "softmax-classifier.toml"))
    vocab = Vocabulary.of(
        (n for la in rec.layers for n in la.neurons), rec.output_neurons, (u.param for u in rec.updates), rec.inputs
    )
    for text in rec.values:
        name = parse(text, vocab)
        assert build(name) == text
        assert name.kind != "value" or name.subject in vocab.given | vocab.parameters, text
    assert parse("da_out2/dz_out1#3", vocab) == Name("slope", "out2", "out1", 3)
    assert parse("dL/dz_out1#2") == Name("dL/dz", "out1", example=2)


@given(st.text(min_size=1, max_size=12), st.integers(min_value=0, max_value=64))
def test_a_name_and_its_example_come_apart_at_the_trailing_suffix_only(name: str, k: int) -> None:
    """ "h#1" as a neuron's own name keeps its #; "x#²" is no example; only a trailing #k in ASCII digits is."""
    from chainrule.record.names import split_example, without_example

    text = name + (f"#{k}" if k else "")
    assume(not re.search(r"#[1-9][0-9]*\Z", name))  # a name ending like a suffix is refused at load
    assert split_example(text) == (name, k)
    assert without_example(text) == name
