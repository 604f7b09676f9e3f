"""Shared fixtures: the reference network and a runner for the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from chainrule import netfile
from chainrule.network import Network

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "src" / "chainrule" / "examples"


@pytest.fixture
def reference() -> Network:
    """The 2-2-1 sigmoid network of shared/reference/forward-backprop.md."""
    return netfile.load()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
