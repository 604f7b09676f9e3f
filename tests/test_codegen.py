"""Generated source carries numbers and known identifiers only: the one formatter refuses the rest."""

from __future__ import annotations

import ast
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.errors import ChainruleError
from chainrule.train.codegen import comment, identifier, literal


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_literal_reads_back_to_the_same_float(x: float) -> None:
    assert ast.literal_eval(literal(x)) == x


@pytest.mark.parametrize("x", [math.inf, -math.inf, math.nan])
def test_non_finite_values_are_refused_with_one_line(x: float) -> None:
    with pytest.raises(ChainruleError, match=r"alpha is .*expected a finite number"):
        literal(x, "alpha")


@given(st.text())
def test_a_comment_is_one_inert_line(text: str) -> None:
    line = comment(text)
    assert "\n" not in line and "\r" not in line
    assert ast.parse(line + "\n").body == []  # nothing but a comment: no statement runs


@pytest.mark.parametrize("name", ['a"""', "x y", "1a", "", "sigmoid\n", "os.system"])
def test_only_identifiers_pass(name: str) -> None:
    with pytest.raises(ValueError):
        identifier(name)
    assert identifier("leaky_relu") == "leaky_relu"


@pytest.mark.parametrize(
    ("text", "cell"), [("=1+2.toml", "'=1+2.toml"), ("@SUM(A1)", "'@SUM(A1)"), ("-x", "'-x"), ("ada", "ada")]
)
def test_csv_cells_never_start_a_formula(text: str, cell: str) -> None:
    from chainrule.views.escape import csv_cell

    assert csv_cell(text) == cell


# -- the loop written out for a shape: numbers and its own names only ------------------------------

SHAPES = st.lists(
    st.tuples(st.integers(1, 9), st.integers(0, 2), st.sampled_from(sorted(set(range(12)) - {8}))),
    min_size=1,
    max_size=4,
)


def _shape(layers: list[tuple[int, int, int]], inputs: int, loss: int, masked: bool) -> tuple:
    """A shape as `special.shape_of` makes it, with consistent offsets."""
    rows, fan_in, offset = [], inputs, 0
    for units, mode, code in layers:
        bias = {0: -1, 1: offset + units * fan_in, 2: offset + units * fan_in}[mode]
        rows.append((units, fan_in, offset, bias, mode, code))
        offset += units * fan_in + {0: 0, 1: 1, 2: units}[mode]
        fan_in = units
    return tuple(rows), loss, masked


@given(SHAPES, st.integers(1, 5), st.integers(0, 5), st.booleans())
def test_the_generated_loop_holds_no_text_and_no_value_of_the_network(
    layers: list[tuple[int, int, int]], inputs: int, loss: int, masked: bool
) -> None:
    """Every string in the source is a docstring; every number an integer of the shape (or 0.0/1.0
    of the loop itself); α and every other value of the network are arguments."""
    from chainrule.train.compiled.generate import source

    tree = ast.parse(source(_shape(layers, inputs, loss, masked)))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree) if isinstance(n, (ast.Module, ast.FunctionDef))}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert id(node) in docstrings
        elif isinstance(node, ast.Constant) and isinstance(node.value, float):
            assert node.value in (0.0, 1.0)


def test_a_shape_has_one_source_whatever_its_alpha() -> None:
    from chainrule.io import netfile
    from chainrule.train.compiled import loop as fast
    from chainrule.train.compiled import special

    doc = {
        "inputs": 2,
        "loss": "mse",
        "layers": [{"units": 3, "activation": "leaky_relu", "alpha": 0.01}, {"units": 1, "activation": "elu"}],
        "examples": [{"x": [0.0, 1.0], "y": [0.5]}],
    }
    first = fast.pack(netfile.from_dict(doc))
    doc["layers"][0]["alpha"] = 0.3
    doc["layers"][1]["alpha"] = 2.5
    second = fast.pack(netfile.from_dict(doc))
    assert special.shape_of(first) == special.shape_of(second)
    assert "0.3" not in special.source(special.shape_of(second)) and "2.5" not in special.source(
        special.shape_of(second)
    )
