"""Binary network files (.npz): exact round trips, usable wherever a network file is, no code run."""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chainrule.errors import ChainruleError
from chainrule.io import netfile, netnpz
from chainrule.record.step import explain_step
from conftest import EXAMPLES
from helpers import CASES, assert_one_line, odd_document, random_document, run_cli


def _same(a: netfile.Network, b: netfile.Network) -> None:
    assert a.parameters() == b.parameters()
    assert [la.weight.dtype for la in a.layers] == [lb.weight.dtype for lb in b.layers]
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert (a.title, a.input_names, a.loss.name, a.training, a.data) == (
        b.title,
        b.input_names,
        b.loss.name,
        b.training,
        b.data,
    )
    assert [la.weight_names for la in a.layers] == [lb.weight_names for lb in b.layers]


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("case", CASES, ids=[f"{loss}-{out}" for loss, out in CASES])
def test_random_networks_round_trip_exactly(seed: int, case: tuple[str, str], tmp_path: Path) -> None:
    rng = np.random.default_rng(seed)
    make = odd_document if seed % 2 else random_document
    net = netfile.from_dict(make(rng, *case))
    net.layers[0].weight += rng.normal(size=net.layers[0].weight.shape) * 1e-7  # digits a TOML writer could lose
    path = tmp_path / "net.npz"
    netfile.save(net, path)
    again = netfile.load(path)
    _same(net, again)
    assert explain_step(again).values == explain_step(net).values
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]  # no temporary file left


def test_train_writes_npz_that_explain_predict_and_resume_read(tmp_path: Path) -> None:
    out, xor = tmp_path / "xor.npz", str(EXAMPLES / "xor.toml")
    result, _ = run_cli(
        ["train", xor, "--epochs", "30", "-q", "-o", str(out), "--checkpoint", str(tmp_path / "c.json")]
    )
    assert result.exit_code == 0, result.output
    trained = netfile.load(out)
    result, _ = run_cli(["predict", str(out), "1", "0", "--format", "json"])
    assert json.loads(result.stdout)["outputs"] == trained.forward(np.array([[1.0, 0.0]])).output[0].tolist()
    result, _ = run_cli(["explain", str(out), "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.stdout)
    again = tmp_path / "again.npz"
    result, _ = run_cli(
        ["train", str(out), "--epochs", "31", "-q", "-o", str(again), "--resume", str(tmp_path / "c.json")]
    )
    assert result.exit_code == 0, result.output
    straight = tmp_path / "straight.toml"
    run_cli(["train", xor, "--epochs", "31", "-q", "-o", str(straight)])
    assert netfile.load(again).parameters() == netfile.load(straight).parameters()


def _write(path: Path, **arrays: np.ndarray) -> Path:
    with path.open("wb") as fh:
        np.savez(fh, **arrays)
    return path


def _reference_arrays() -> dict[str, np.ndarray]:
    net = netfile.load()
    doc = netfile.to_dict(net, include_examples=False)
    for entry in doc["layers"]:
        del entry["weights"]
    return {
        netnpz.DOCUMENT: np.array(json.dumps(doc)),
        "layers.0.weights": net.layers[0].weight,
        "layers.1.weights": net.layers[1].weight,
        "examples.x": net.x,
        "examples.y": net.y,
    }


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"layers.1.weights": np.zeros((2, 2))}, "layers.1.weights: expected numbers of shape (1, 2)"),
        ({"layers.0.weights": np.full((2, 2), np.nan)}, "layers.0.weights: expected finite numbers"),
        ({"layers.0.weights": None}, "layers.0.weights: expected an array of shape (2, 2), got none"),
        ({"layers.0.weights": np.array([["a", "b"], ["c", "d"]])}, "'layers.0.weights': expected an array of numbers"),
        ({"layers.0.weights": np.ones((2, 2), complex)}, "'layers.0.weights': expected real numbers, got complex"),
        ({"examples.y": np.array([[0.1, 0.2]])}, "examples.y: expected numbers of shape (1, 1)"),
        ({netnpz.DOCUMENT: np.array("{")}, "network.json: expected a JSON document"),
        ({netnpz.DOCUMENT: None}, "network.json: expected the network document"),
        (
            {netnpz.DOCUMENT: np.array('{"inputs": 2, "layers": [{"units": 1000000000, "activation": "relu"}]}')},
            "layers[0].units: expected at most",
        ),
    ],
)
def test_bad_npz_network_files_are_one_line(tmp_path: Path, change: dict[str, object], expected: str) -> None:
    arrays = _reference_arrays()
    for key, value in change.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value  # type: ignore[assignment]
    path = _write(tmp_path / "bad.npz", **arrays)
    assert expected in assert_one_line(["explain", str(path)])


def test_loading_runs_no_code(tmp_path: Path) -> None:
    """A pickled object array (which would run code when unpickled) is refused, not loaded."""
    ran = tmp_path / "ran"

    class Boom:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {ran}",))

    arrays = _reference_arrays()
    arrays["layers.0.weights"] = np.array([Boom()], dtype=object)
    with (tmp_path / "evil.npz").open("wb") as fh:
        np.savez(fh, **arrays)  # allow_pickle is on for writing object arrays
    (tmp_path / "pickle.npz").write_bytes(pickle.dumps(Boom()))
    for name in ("evil.npz", "pickle.npz"):
        with pytest.raises(ChainruleError):
            netfile.load(tmp_path / name)
    assert not ran.exists()


def test_sizes_are_checked_before_arrays_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.npz"
    np.savez_compressed(path, **{**_reference_arrays(), "padding": np.zeros(100_000)})  # small, 800 kB unpacked
    assert path.stat().st_size < 50_000
    monkeypatch.setenv("CHAINRULE_MAX_BYTES", "50000")
    assert "once unpacked" in assert_one_line(["explain", str(path)])


def test_a_failed_save_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "net.npz"
    netfile.save(netfile.load(), path)
    before = path.read_bytes()

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError):
        netfile.save(netfile.load(), path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["net.npz"]


@settings(max_examples=60)
@given(st.text(max_size=30), st.sampled_from([".toml", ".json", ".npz"]))
@example("a\x7fb", ".toml")
def test_any_title_survives_every_format(title: str, suffix: str) -> None:
    """A title with DEL (U+007F) or any other character reads back as written (TOML refused DEL raw)."""
    net = netfile.load()
    net.title = title
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"net{suffix}"
        netfile.save(net, path)
        assert netfile.load(path).title == title
