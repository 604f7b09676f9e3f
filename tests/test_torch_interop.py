"""PyTorch both ways: to_torch/from_torch and the .pt file keep every number, name and frozen mark.

Forward outputs and one SGD, momentum or Adam update agree with the engine to 1e-12 in float64,
starting from a chainrule network (random files, shared biases, frozen parameters) and from a
plain PyTorch nn.Sequential.
"""

from __future__ import annotations

import copy
import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.engine.network import Network
from chainrule.errors import ChainruleError
from chainrule.io import netfile
from chainrule.io.torch import from_torch, to_torch
from chainrule.io.torchfile import load_pt, save_pt
from chainrule.train.optim import make_optimizer
from chainrule.train.trainer import gradient_arrays
from helpers import CASES, HIDDEN, assert_one_line, odd_document, random_document, run_cli, torch_loss

TORCH_CASES = [(loss, out) for loss, out in CASES if out != "binary_step"]
TORCH_HIDDEN = [h for h in HIDDEN if h != "binary_step"]
OPTIMIZERS = ["sgd", "momentum", "adam"]
CLOSE = {"rtol": 1e-12, "atol": 1e-12}


def _network(seed: int, loss: str, output: str, *, odd: bool = False) -> Network:
    """A random network PyTorch can hold, some of its parameters frozen at random."""
    rng = np.random.default_rng(seed)
    doc = (odd_document if odd else random_document)(rng, loss, output)
    for layer in doc["layers"][:-1]:
        if layer["activation"] == "binary_step":
            layer["activation"] = str(rng.choice(TORCH_HIDDEN))
    net = netfile.from_dict(doc)
    names = net.parameter_names()
    net.training.freeze = tuple(n for n in names if rng.random() < 0.2)
    return net


def _engine_update(net: Network, optimizer: str) -> Network:
    """One update of the first batch by the engine and chainrule's optimizer."""
    net = copy.deepcopy(net)
    opt = make_optimizer(optimizer, net, net.training.learning_rate)
    idx = net.batches()[0]
    opt.step(gradient_arrays(net, net.backward(net.forward(net.x[idx]), net.y[idx])))
    return net


def _torch_update(model: torch.nn.Sequential, net: Network, optimizer: str) -> None:
    """The same update by PyTorch: its autograd, its loss reduction, its torch.optim."""
    params = [p for p in model.parameters() if p.requires_grad]
    lr = net.training.learning_rate
    opt = (
        torch.optim.Adam(params, lr=lr)
        if optimizer == "adam"
        else torch.optim.SGD(params, lr=lr, momentum=0.9 if optimizer == "momentum" else 0.0)
    )
    idx = net.batches()[0]
    losses = torch_loss(net.loss.name, model(torch.tensor(net.x[idx])), torch.tensor(net.y[idx]))
    (losses.mean() if net.training.reduction == "mean" else losses.sum()).backward()
    opt.step()


def _assert_same(ours: Network, theirs: Network) -> None:
    assert theirs.parameter_names() == ours.parameter_names()
    mine, back = ours.parameters(), theirs.parameters()
    np.testing.assert_allclose([back[n] for n in mine], list(mine.values()), **CLOSE)
    assert sorted(theirs.training.freeze) == sorted(ours.training.freeze)


@settings(max_examples=80)
@given(st.integers(0, 2**32 - 1), st.sampled_from(TORCH_CASES), st.sampled_from(OPTIMIZERS))
def test_chainrule_to_torch_and_back_is_exact(seed: int, case: tuple[str, str], optimizer: str) -> None:
    net = _network(seed, *case)
    model = to_torch(net)
    out = model(torch.tensor(net.x)).detach().numpy()
    np.testing.assert_allclose(out, net.forward(net.x).output, **CLOSE)
    _assert_same(net, from_torch(model))
    _torch_update(model, net, optimizer)
    _assert_same(_engine_update(net, optimizer), from_torch(model))


def _random_sequential(rng: np.random.Generator) -> torch.nn.Sequential:
    """A plain nn.Sequential as a PyTorch user writes it: Linear layers, with or without bias, each
    followed by an activation module (or by nothing)."""
    choices = [
        torch.nn.Sigmoid,
        torch.nn.Tanh,
        torch.nn.ReLU,
        lambda: torch.nn.LeakyReLU(0.2),
        lambda: torch.nn.PReLU(init=0.1, dtype=torch.float64),
        lambda: torch.nn.ELU(0.7),
        torch.nn.SELU,
        torch.nn.SiLU,
        torch.nn.GELU,
        torch.nn.Softplus,
        torch.nn.Identity,
        None,
    ]
    sizes = [int(s) for s in rng.integers(1, 5, int(rng.integers(2, 5)))]
    modules: list[torch.nn.Module] = []
    for fan_in, units in itertools.pairwise(sizes):
        modules.append(torch.nn.Linear(fan_in, units, bias=bool(rng.random() < 0.7), dtype=torch.float64))
        make = choices[int(rng.integers(0, len(choices)))]
        if make is not None:
            modules.append(make())
    return torch.nn.Sequential(*modules)


@settings(max_examples=60)
@given(st.integers(0, 2**32 - 1), st.sampled_from(OPTIMIZERS))
def test_torch_to_chainrule_is_exact(seed: int, optimizer: str) -> None:
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    model = _random_sequential(rng)
    params = list(model.parameters())
    if len(params) > 1 and rng.random() < 0.5:
        params[0].requires_grad_(False)  # a frozen tensor comes across as frozen names
    net = from_torch(model, loss="mse")
    net.x = rng.normal(0, 1, (3, model[0].in_features))
    net.y = rng.normal(0, 1, (3, net.output_layer.units))
    net.training.batch, net.training.learning_rate = "full", 0.1
    out = model(torch.tensor(net.x)).detach().numpy()
    np.testing.assert_allclose(out, net.forward(net.x).output, **CLOSE)
    _torch_update(model, net, optimizer)
    _assert_same(_engine_update(net, optimizer), from_torch(model, loss="mse"))


def test_shared_bias_stays_one_number_in_torch(reference: Network) -> None:
    """The reference example's b1 is one parameter in PyTorch too: its gradient sums both neurons'."""
    model = to_torch(reference)
    keys = [k for k in model.state_dict() if "bias" in k]
    assert keys == ["0.parametrizations.bias.original", "2.parametrizations.bias.original"]
    assert model.state_dict()[keys[0]].shape == (1,)


@settings(max_examples=40)
@given(st.integers(0, 2**32 - 1), st.sampled_from(TORCH_CASES))
def test_pt_file_round_trip_keeps_everything(
    tmp_path_factory: pytest.TempPathFactory, seed: int, case: tuple[str, str]
) -> None:
    net = _network(seed, *case, odd=True)
    path = tmp_path_factory.mktemp("pt") / "model.pt"
    save_pt(net, path)
    payload = torch.load(path, weights_only=True)  # no code runs to read it
    assert set(payload) == {"format", "architecture", "state_dict"}
    back = load_pt(path)
    _assert_same(net, back)
    assert back.input_names == net.input_names and back.title == net.title
    assert [la.neuron_names for la in back.layers] == [la.neuron_names for la in net.layers]
    assert back.loss.name == net.loss.name and back.training.batch == net.training.batch
    np.testing.assert_array_equal(back.x, net.x)
    np.testing.assert_array_equal(back.y, net.y)


def test_export_then_import_by_the_command_line(tmp_path: Path) -> None:
    pt, toml = tmp_path / "xor.pt", tmp_path / "xor.toml"
    result, _ = run_cli(["export", "xor", "-o", str(pt)])
    assert result.exit_code == 0, result.stderr
    assert "shared bias" in result.stderr  # the command says what changes
    result, _ = run_cli(["import", str(pt), "-o", str(toml)])
    assert result.exit_code == 0, result.stderr
    original, back = netfile.load("xor"), netfile.load(toml)
    _assert_same(original, back)
    assert netfile.to_dict(back) == netfile.to_dict(original)


def test_what_pytorch_cannot_hold_is_one_line(tmp_path: Path) -> None:
    step = tmp_path / "step.toml"
    step.write_text(
        'inputs = 2\n[[layers]]\nunits = 1\nactivation = "binary_step"\n[[examples]]\nx = [0, 1]\ny = [1]\n'
    )
    message = assert_one_line(["export", str(step), "-o", str(tmp_path / "m.pt")])
    assert "binary_step has no PyTorch module" in message
    with pytest.raises(ChainruleError, match="Dropout"):
        from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5)))
    pickled = tmp_path / "module.pt"
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 1)), pickled)  # a whole module: unpickling would run code
    assert "weights_only=True" in assert_one_line(["import", str(pickled)])
    plain = tmp_path / "plain.pt"
    torch.save(torch.nn.Linear(2, 1).state_dict(), plain)
    assert "from_torch" in assert_one_line(["import", str(plain)])
    assert_one_line(["import", str(tmp_path / "missing.pt")])


def test_optional_extras_are_not_imported_and_named_when_missing(tmp_path: Path) -> None:
    """`chainrule` on a built-in example loads no PyTorch, ONNX or scikit-learn; an export that
    needs a missing one names the extra to install."""
    code = (
        "import sys; from chainrule.cli.root import main\n"
        "try: main(['explain', 'xor'], standalone_mode=False)\n"
        "except SystemExit: pass\n"
        "print(sorted(m for m in ('torch', 'onnx', 'onnxruntime', 'sklearn', 'pandas') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip().splitlines()[-1] == "[]"
    hide = "import sys; sys.modules['torch'] = None; sys.modules['onnx'] = None; from chainrule.cli.root import main; main()"
    for suffix, extra in ((".pt", "chainrule[torch]"), (".onnx", "chainrule[onnx]")):
        args = [sys.executable, "-c", hide, "export", "xor", "-o", str(tmp_path / f"m{suffix}")]
        run = subprocess.run(args, capture_output=True, text=True)
        assert run.returncode == 2 and run.stderr.count("\n") == 1 and extra in run.stderr, run.stderr


def test_a_standardized_network_keeps_its_preprocessing_through_pt(tmp_path: Path) -> None:
    """--standardize's mean and std and the class names travel in the .pt architecture and come
    back with `import`; the export says the model expects standardised inputs."""
    from chainrule.engine.network import DataInfo

    net = netfile.load("xor")
    net.data = DataInfo(columns=["p", "q"], target="kind", classes=["no", "yes, really"], mean=[3.5, -1e3],
                        std=[0.25, 40.0])  # fmt: skip
    source, pt, back_file = tmp_path / "s.toml", tmp_path / "s.pt", tmp_path / "back.toml"
    netfile.save(net, source)
    result, _ = run_cli(["export", str(source), "-o", str(pt)])
    assert result.exit_code == 0 and "standardised" in result.stderr, result.stderr
    arch = torch.load(pt, weights_only=True)["architecture"]
    assert arch["data"]["mean"] == [3.5, -1e3] and arch["data"]["classes"] == ["no", "yes, really"]
    assert run_cli(["import", str(pt), "-o", str(back_file)])[0].exit_code == 0
    back = netfile.load(back_file).data
    assert back is not None and (back.mean, back.std, back.classes) == (
        [3.5, -1e3],
        [0.25, 40.0],
        ["no", "yes, really"],
    )


@pytest.mark.parametrize("units", [10**9, 10**13, -1, "4"])
def test_pt_architecture_sizes_are_checked_before_anything_is_built(units: object, tmp_path: Path) -> None:
    import resource

    from chainrule.io.torch import FORMAT

    arch = {"inputs": ["x1", "x2"], "loss": "mse", "layers": [{"units": units, "activation": "relu"}]}
    path = tmp_path / "big.pt"
    torch.save({"format": FORMAT, "architecture": arch, "state_dict": {}}, path)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    err = assert_one_line(["import", str(path)])
    assert "architecture.layers[0].units: expected" in err
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # kB: nothing of that size made
