"""Shared fixtures: the reference network and a runner for the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

from chainrule.engine.network import Network
from chainrule.io import netfile

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "src" / "chainrule" / "examples"

# Property tests: a fixed seed and no example database, so CI runs the same few hundred cases every time.
settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")


@pytest.fixture
def reference() -> Network:
    """The built-in reference example: 2-2-1 sigmoid, x = (0.05, 0.10), target 0.01, b1 shared, η = 0.5."""
    return netfile.load()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
