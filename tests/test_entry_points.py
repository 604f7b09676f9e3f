"""The cheap ways in: `chainrule --help` imports nothing heavy; training is reachable from `import chainrule`."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

ENV = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
HEAVY = {"numpy", "asyncio", "ssl", "numba", "torch", "scipy", "matplotlib", "rich"}


def test_help_lists_every_command_without_importing_anything_heavy() -> None:
    code = (
        "import sys\n"
        "from chainrule.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(HEAVY)!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]"), out
    assert all(f"  {name} " in out for name in ("train", "explain", "check", "cache", "predict", "serve")), out


def test_importtime_of_help_shows_no_heavy_module() -> None:
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "chainrule", "--help"], env=ENV, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in run.stderr.splitlines() if "|" in line}
    assert "chainrule" in imported and not imported & {"numpy", "asyncio", "ssl", "numba", "torch"}


def test_training_is_reachable_from_the_top_level_api() -> None:
    code = (
        "import sys, chainrule\n"
        "assert 'numpy' not in sys.modules\n"
        "net = chainrule.load()\n"
        "result = chainrule.fit(net, config=chainrule.TrainConfig(epochs=3))\n"
        "assert isinstance(result, chainrule.TrainResult) and result.stopped_by == 'epochs'\n"
        "assert chainrule.Trainer.__name__ == 'Trainer'\n"
        "print(result.history[-1].epoch, net.parameters()['w5'] != result.network.parameters()['w5'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["3", "True"]
