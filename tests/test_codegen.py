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
