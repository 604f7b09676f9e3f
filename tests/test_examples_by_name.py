"""Built-in examples by name: `chainrule explain xor` anywhere; a file of that name here wins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chainrule.io import loader, netfile
from conftest import EXAMPLES
from helpers import assert_one_line, run_cli


def test_examples_lists_every_network_example() -> None:
    result, _ = run_cli(["examples"])
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.stdout.splitlines()]
    shipped = sorted(p.stem for p in EXAMPLES.glob("*.toml") if "layers" in p.read_text())
    assert listed == shipped and "xor" in listed
    for name in listed:  # every name listed loads as that file (a dense network or a shaped one)
        by_name = loader.load(name, require_examples=False)
        from_path = loader.load(EXAMPLES / f"{name}.toml", require_examples=False)
        assert {k: np.asarray(v).tolist() for k, v in by_name.parameters().items()} == {
            k: np.asarray(v).tolist() for k, v in from_path.parameters().items()
        }


def test_a_name_explains_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result, _ = run_cli(["explain", "xor", "--format", "json"])
    assert result.exit_code == 0 and '"title": "XOR with a 2-2-1 sigmoid network"' in result.stdout
    assert netfile.load("xor").source == "examples/xor.toml"


def test_a_file_here_wins_over_the_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "xor").write_text((EXAMPLES / "forward-backprop.toml").read_text())
    assert netfile.load("xor").title.startswith("Forward & Backpropagation")


def test_an_unknown_name_is_one_line_listing_the_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    message = assert_one_line(["explain", "spiral"])
    assert "spiral: expected a network file or a built-in example (" in message and "spirals" in message
    assert "no such file" in assert_one_line(["explain", "missing.toml"])
