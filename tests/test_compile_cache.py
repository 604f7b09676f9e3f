"""The cache of loops compiled per network shape: private, checked before use, keyed by content, bounded.

Each test works in its own cache folder (CHAINRULE_CACHE_DIR under tmp_path) and forgets the
loops this process loaded, so that what it checks really goes through the folder.
"""

from __future__ import annotations

import copy
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.cli.root import main
from chainrule.engine.network import Network
from chainrule.errors import ChainruleError
from chainrule.io import netfile
from chainrule.train.compiled import cache, special
from chainrule.train.compiled import loop as fast
from chainrule.train.config import TrainConfig
from chainrule.train.paths import PlainSGD
from chainrule.train.trainer import Trainer
from helpers import engine_epochs


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache folder for this test; no loop loaded in this process."""
    monkeypatch.setenv(cache.ENV_CACHE, str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "_private", None)
    monkeypatch.setattr(special, "_loaded", {})
    return tmp_path / "cache" / "kernels"


@pytest.fixture
def kept(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tests' own cache folder, kept between runs (a loop compiled there once is loaded
    after); no loop loaded in this process, so that each goes through the folder."""
    monkeypatch.setattr(special, "_loaded", {})
    return cache.folder()


def specialised_run(net: Network) -> tuple[Network, str]:
    out = copy.deepcopy(net)
    sgd = PlainSGD(out, 1, compiled=True, matrices=False, specialise=True)
    sgd.epochs(2, out.training.learning_rate)
    return out, sgd.variant


def assert_engine(got: Network, net: Network) -> None:
    for name, value in engine_epochs(net, 2).parameters().items():
        assert got.parameters()[name] == pytest.approx(value, rel=1e-12, abs=1e-14), name


def test_folders_are_made_private_and_the_loop_is_its_source(folder: Path, reference: Network) -> None:
    got, variant = specialised_run(reference)
    assert variant == "specialised"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(folder.parent.stat().st_mode) == 0o700
    (file,) = folder.glob("loop_*.py")
    assert file.read_text() == special.source(special.shape_of(fast.pack(reference)))
    assert_engine(got, reference)


@pytest.mark.parametrize("how", ["another user's", "writable by others"])
def test_a_folder_that_is_not_the_users_own_is_refused(how: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder.mkdir(parents=True)
    if how == "writable by others":
        os.chmod(folder, 0o777)
    else:
        monkeypatch.setattr(os, "getuid", lambda: os.stat(folder).st_uid + 1)
    assert cache.folder() != folder and stat.S_IMODE(cache.folder().stat().st_mode) == 0o700
    assert cache.refusal(folder) == ("belongs to another user" if "user" in how else "can be written by other users")
    assert cache.clear()[1] == 0 and list(folder.iterdir()) == []  # nor is anything removed there


def test_using_a_loop_keeps_the_modification_time_numbas_cache_checks(kept: Path, reference: Network) -> None:
    """A loop used again is marked by its access time: its modification time, which numba compares
    with the one its machine code was compiled from, stays (else every run would compile again)."""
    specialised_run(reference)
    file = kept / f"loop_{special.key(special.shape_of(fast.pack(reference)))}.py"
    os.utime(file, ns=(1_000_000_000, file.stat().st_mtime_ns))
    modified = file.stat().st_mtime_ns
    special._loaded.clear()
    specialised_run(reference)
    assert file.stat().st_mtime_ns == modified and file.stat().st_atime > 1


def test_a_changed_file_in_the_cache_is_never_run(kept: Path, reference: Network, tmp_path: Path) -> None:
    """The file is compared with the source it should hold: anything else is written over first."""
    specialised_run(reference)
    file = kept / f"loop_{special.key(special.shape_of(fast.pack(reference)))}.py"
    marker = tmp_path / "ran"
    file.write_text(f"open({str(marker)!r}, 'w').close()\n")
    special._loaded.clear()
    got, variant = specialised_run(reference)
    assert variant == "specialised" and not marker.exists()
    assert file.read_text() == special.source(special.shape_of(fast.pack(reference)))
    assert_engine(got, reference)


def test_a_loop_that_fails_to_load_is_removed_and_the_general_loop_runs(
    kept: Path, reference: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    specialised_run(reference)
    file = kept / f"loop_{special.key(special.shape_of(fast.pack(reference)))}.py"
    real = special.module

    def broken(packed: object) -> None:
        raise SyntaxError("damaged")

    monkeypatch.setattr(special, "module", broken)
    special._loaded.clear()
    packed = fast.pack(reference)
    fast.train_epochs(packed, reference.x, reference.y, np.zeros((1, 1), np.int64), 1, True, 0.5, 1, specialise=True)
    assert packed.variant == "general" and "failed to load" in packed.why_general
    assert not file.exists()  # removed: the next run builds it afresh
    monkeypatch.setattr(special, "module", real)
    assert specialised_run(reference)[1] == "specialised"


def test_the_loop_that_ran_is_the_one_recorded(kept: Path, reference: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked for the loop written out for the shape but given the general one (as a wrong choice
    would), the record says general: it comes from the loop's own answer."""
    monkeypatch.setattr(special, "module", lambda packed: fast.kernel())
    assert specialised_run(reference)[1] == "general"


def test_the_key_covers_what_the_loop_depends_on(reference: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    package = Path(special.__file__).resolve().parent.parent.parent
    assert all((package / name).is_file() for name in special.DEPENDS_ON)
    assert {"engine/functions.py", "train/compiled/generate.py", "train/compiled/scalar.py"} <= set(special.DEPENDS_ON)
    shape = special.shape_of(fast.pack(reference))
    before = special.key(shape)
    monkeypatch.setattr(special, "_keys", {})
    monkeypatch.setattr(special, "_depends", ["another engine/functions.py"])
    assert special.key(shape) != before


def test_the_least_recently_used_loops_go_past_the_size_cap(tmp_path: Path) -> None:
    where = tmp_path / "kernels"
    (where / "__pycache__").mkdir(parents=True)
    for age, stem in enumerate(["loop_c", "loop_b", "loop_a"]):  # loop_c used longest ago
        (where / f"{stem}.py").write_bytes(b"#" * 100)
        (where / "__pycache__" / f"{stem}.epoch-1.py312.nbc").write_bytes(b"0" * 900)
        os.utime(where / f"{stem}.py", (1000 + age, 5000 - age))  # used: the access time (not the modification's)
    assert [e.stem for e in cache.entries(where)] == ["loop_c", "loop_b", "loop_a"]
    assert cache.evict(where, keep="loop_c", limit=2000) == 1
    assert sorted(p.name for p in where.glob("*.py")) == ["loop_a.py", "loop_c.py"]
    assert sorted(p.name for p in (where / "__pycache__").iterdir()) == [
        "loop_a.epoch-1.py312.nbc",
        "loop_c.epoch-1.py312.nbc",
    ]


def test_cache_info_and_clear(folder: Path, reference: Network) -> None:
    specialised_run(reference)
    info = CliRunner().invoke(main, ["cache", "info"])
    assert info.exit_code == 0 and f"folder: {folder}" in info.output and "loops: 1," in info.output
    cleared = CliRunner().invoke(main, ["cache", "clear"])
    assert cleared.exit_code == 0 and cleared.output == f"removed 1 compiled loop from {folder}\n"
    assert list(folder.glob("loop_*")) == []
    assert "loops: 0," in CliRunner().invoke(main, ["cache", "info"]).output


def test_an_alpha_beyond_the_precision_is_refused_before_anything_is_generated(
    kept: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fixed α of 1e300 is ∞ in float32: one line, exit 2, nothing written; a sane α then trains."""
    monkeypatch.setenv(special.ENV_FORCE, "1")

    def train(alpha: str) -> tuple[int, str]:
        net = tmp_path / "net.toml"
        net.write_text(
            'inputs = 2\nloss = "half_squared_error"\n[training]\ndtype = "float32"\nlearning_rate = 0.1\n'
            "[[layers]]\nunits = 3\nactivation = 'leaky_relu'\n"
            f"alpha = {alpha}\n[[layers]]\nunits = 1\nactivation = 'sigmoid'\n"
            "[[examples]]\nx = [0.5, 1.0]\ny = [1.0]\n[[examples]]\nx = [1.0, -1.0]\ny = [0.0]\n"
        )
        result = CliRunner().invoke(main, ["train", str(net), "--epochs", "3", "-q", "-o", str(tmp_path / "o.toml")])
        return result.exit_code, result.output

    before = sorted(kept.glob("loop_*.py"))
    code, output = train("1e300")
    assert code == 2 and output.count("\n") == 1 and "alpha" in output and "float32" in output, output
    assert sorted(kept.glob("loop_*.py")) == before
    code, output = train("0.1")
    assert code == 0, output
    assert netfile.load(tmp_path / "o.toml").parameters() != netfile.load(tmp_path / "net.toml").parameters()


@settings(max_examples=40)
@given(
    alpha=st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([1e300, -3.5e38, 3.4e38, 5e-324]),
    rate=st.floats(min_value=1e-300, max_value=1e300) | st.sampled_from([1e39, 3.4e38]),
    dtype=st.sampled_from(["float32", "float64"]),
    title=st.text(max_size=40) | st.just('"""\nimport os; os.system("false")\n"""'),
)
def test_hostile_constants_train_on_the_written_out_loop_or_are_refused_in_one_line(
    alpha: float, rate: float, dtype: str, title: str
) -> None:
    """Any α, learning rate, precision and title through the loop written out for the shape: one
    line naming what is wrong, or a run (finite, or stopped as diverged); and one loop for the
    shape whatever the values (they are arguments, not source)."""
    doc = {
        "title": title,
        "inputs": 2,
        "loss": "half_squared_error",
        "layers": [{"units": 2, "activation": "elu", "alpha": alpha}, {"units": 1, "activation": "sigmoid"}],
        "examples": [{"x": [0.5, -1.0], "y": [1.0]}, {"x": [-0.5, 2.0], "y": [0.0]}],
        "training": {"learning_rate": rate, "dtype": dtype},
    }
    before = os.environ.get(special.ENV_FORCE)
    os.environ[special.ENV_FORCE] = "1"
    try:
        net = netfile.from_dict(doc)
        trainer = Trainer(net, net.x, net.y, TrainConfig(epochs=3))
        result = trainer.run()
    except ChainruleError as err:
        assert "\n" not in str(err) and ("alpha" in str(err) or "learning_rate" in str(err)), str(err)
        return
    finally:
        os.environ.pop(special.ENV_FORCE) if before is None else os.environ.__setitem__(special.ENV_FORCE, before)
    assert trainer.ran == {"compiled"} and trainer.runner is not None
    assert trainer.runner.variant == "specialised"  # type: ignore[attr-defined]
    assert result.stopped_by in ("epochs", "diverged")
    doc["layers"][0]["alpha"], doc["training"] = 1.0, {}  # the same shape with tame values: the same source
    tame = special.source(special.shape_of(fast.pack(netfile.from_dict(doc))))
    assert special.source(special.shape_of(fast.pack(result.network))) == tame
