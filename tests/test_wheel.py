"""The package as a user gets it: a wheel built from the repository, installed in a fresh virtual
environment (no system site-packages, dependencies from the package index or pip's cache), runs
`chainrule explain xor` with no examples folder in sight, and `chainrule serve --help`.

About 35 s: the build takes ~4 s (hatchling from the index, cached), the install ~25 s.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import ROOT


def _run(args: list[str | Path], cwd: Path) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout


def test_wheel_installs_and_runs_in_a_fresh_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, ROOT], tmp_path)
    (wheel,) = dist.glob("chainrule-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "chainrule/py.typed" in names and "chainrule/examples/xor.toml" in names
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], tmp_path)
    python, chainrule = venv / "bin" / "python", venv / "bin" / "chainrule"
    _run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel], tmp_path)
    where = tmp_path / "elsewhere"  # no examples/ folder here: the names resolve inside the package
    where.mkdir()
    explained = _run([chainrule, "explain", "xor"], where)
    assert "XOR with a 2-2-1 sigmoid network" in explained and "examples/xor.toml" in explained
    assert "xor" in _run([chainrule, "examples"], where).split()
    assert "Usage: chainrule serve" in _run([chainrule, "serve", "--help"], where)
    check = "import chainrule, importlib.metadata as m; print(chainrule.__version__ == m.version('chainrule'))"
    assert _run([python, "-c", check], where).strip() == "True"
    # Only the declared dependencies came along: none of the optional extras.
    extras = "import importlib.util as u; print([m for m in ('torch', 'onnx', 'sklearn') if u.find_spec(m)])"
    assert _run([python, "-c", extras], where).strip() == "[]"
    missing = subprocess.run(
        [chainrule, "export", "xor", "-o", where / "m.pt"], capture_output=True, text=True, cwd=where
    )
    assert (
        missing.returncode == 2
        and missing.stderr == "chainrule: PyTorch is not installed: pip install 'chainrule[torch]'\n"
    )
