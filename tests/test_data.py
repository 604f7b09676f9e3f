"""Data sets: built-in 2-D sets, CSV reading and encoding, splits, standardisation, the [data] table."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.engine.network import DataInfo
from chainrule.errors import ChainruleError, NetfileError
from chainrule.io import data, netfile


@pytest.mark.parametrize("name", data.BUILTIN)
def test_builtin_sets_are_seeded_two_class_2d(name: str) -> None:
    a = data.builtin(name, np.random.default_rng(5), size=101, noise=0.1)
    b = data.builtin(name, np.random.default_rng(5), size=101, noise=0.1)
    c = data.builtin(name, np.random.default_rng(6), size=101, noise=0.1)
    assert a.x.shape == (101, 2) and a.labels is not None and set(a.labels.tolist()) == {0, 1}
    assert np.array_equal(a.x, b.x) and not np.array_equal(a.x, c.x)
    # Both classes are well represented (xor's labels come from the quadrant, so about half each).
    assert 30 <= int(a.labels.sum()) <= 71


def test_builtin_without_noise_follows_its_rule() -> None:
    xor = data.builtin("xor", np.random.default_rng(0), size=200, noise=0.0)
    assert xor.labels is not None
    assert np.array_equal(xor.labels, ((xor.x[:, 0] > 0) != (xor.x[:, 1] > 0)).astype(int))
    circle = data.builtin("circle", np.random.default_rng(0), size=200, noise=0.0)
    r = np.hypot(circle.x[:, 0], circle.x[:, 1])
    assert circle.labels is not None
    assert np.all(r[circle.labels == 0] < 0.5) and np.all(r[circle.labels == 1] > 0.7)


def test_unknown_data_set_name() -> None:
    with pytest.raises(ChainruleError, match="--data: expected a data file or one of xor"):
        data.load("spirales", np.random.default_rng(0))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "d.csv"
    path.write_text(text)
    return path


def test_csv_one_hot_categories_and_class_target(tmp_path: Path) -> None:
    path = write(tmp_path, "size,colour,kind\n1.5,red,cat\n2.0,blue,dog\n0.5,red,dog\n")
    ds = data.load_csv(path, "kind")
    assert ds.columns == ["size", "colour=blue", "colour=red"]
    assert ds.x.tolist() == [[1.5, 0, 1], [2.0, 1, 0], [0.5, 0, 1]]
    assert ds.classes == ["cat", "dog"] and ds.labels is not None and ds.labels.tolist() == [0, 1, 1]
    assert data.encode_inputs(path, ds.columns).tolist() == ds.x.tolist()


def test_csv_bad_input_names_row_and_column(tmp_path: Path) -> None:
    with pytest.raises(ChainruleError, match="--target 'label': expected one of the columns a, b"):
        data.load_csv(write(tmp_path, "a,b\n1,2\n"), "label")
    with pytest.raises(ChainruleError, match=r"row 3, column 'a': expected a number, got 'x'"):
        data.load_csv(write(tmp_path, "a,b\n1,2\nx,3\n"), "b")
    with pytest.raises(ChainruleError, match=r"row 2, column 'b': expected a value, got an empty cell"):
        data.load_csv(write(tmp_path, "a,b\n1,\n2,3\n"), "a")
    with pytest.raises(ChainruleError, match="row 2: expected 2 values"):
        data.load_csv(write(tmp_path, "a,b\n1,2,3\n"), "a")


def test_targets_for_the_network_shape() -> None:
    ds = data.builtin("moons", np.random.default_rng(0), size=10)
    one = netfile.from_dict(
        {"inputs": 2, "loss": "binary_cross_entropy", "layers": [{"units": 1, "activation": "sigmoid"}]},
        require_examples=False,
    )
    assert ds.labels is not None
    assert data.targets_for(one, ds)[:, 0].tolist() == ds.labels.tolist()
    three = netfile.from_dict(
        {"inputs": 2, "loss": "cross_entropy", "layers": [{"units": 3, "activation": "softmax"}]},
        require_examples=False,
    )
    with pytest.raises(ChainruleError, match="has 2 classes; expected a network with 2 outputs"):
        data.targets_for(three, ds)


def test_split_and_standardize() -> None:
    ds = data.builtin("gaussians", np.random.default_rng(0), size=100)
    train, val = data.split(ds, 0.2, np.random.default_rng(1))
    assert val is not None and len(train) == 80 and len(val) == 20
    assert not set(map(tuple, train.x.tolist())) & set(map(tuple, val.x.tolist()))
    s = data.Standardizer.fit(train.x)
    z = s.apply(train.x)
    assert np.allclose(z.mean(axis=0), 0, atol=1e-12) and np.allclose(z.std(axis=0), 1, atol=1e-12)
    for bad in (1.0, -0.1, 1.5):
        with pytest.raises(ChainruleError, match="--val"):
            data.split(ds, bad, np.random.default_rng(1))


def test_data_table_round_trips(tmp_path: Path) -> None:
    net = netfile.load()
    net.data = DataInfo(["a", "b=x"], "kind", [], [0.5, 1.0], [2.0, 0.25])
    path = tmp_path / "n.toml"
    netfile.save(net, path)
    again = netfile.load(path)
    assert again.data == net.data
    doc = netfile.to_dict(net)
    doc["data"]["std"] = [1.0, 0.0]
    with pytest.raises(NetfileError, match=r"data.std: expected numbers > 0"):
        netfile.from_dict(doc)


def test_real_sets_from_scikit_learn() -> None:
    iris = data.real("iris")
    assert iris.x.shape == (150, 4) and iris.classes == ["setosa", "versicolor", "virginica"]
    assert data.real("digits").x.shape == (1797, 64)


@settings(max_examples=100)
@given(
    header=st.lists(st.text(st.characters(exclude_categories=["Cs"], exclude_characters=',"\r\n\ufeff'), min_size=1, max_size=5), min_size=2,
                    max_size=4, unique_by=str.strip),
    bom=st.booleans(),
)  # fmt: skip
def test_csv_header_is_read_as_written_with_or_without_a_byte_order_mark(header: list[str], bom: bool) -> None:
    """Spreadsheets write a byte-order mark; it was read as part of the first name ('\\ufeffx1')."""
    text = ",".join(header) + "\n" + ",".join("1" for _ in header) + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        path.write_bytes(text.encode("utf-8-sig" if bom else "utf-8", errors="surrogatepass"))
        assert data.read_csv(path)[0] == [h.strip() for h in header]


def test_csv_rows_within_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "data.csv"
    path.write_text("x,y\n" + "1,0\n" * 6)
    monkeypatch.setenv("CHAINRULE_MAX_EXAMPLES", "5")
    with pytest.raises(ChainruleError, match=r"rows: expected at most 5 examples .*CHAINRULE_MAX_EXAMPLES=6"):
        data.read_csv(path)
    monkeypatch.setenv("CHAINRULE_MAX_EXAMPLES", "6")
    assert len(data.read_csv(path)[1]) == 6
