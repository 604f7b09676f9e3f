"""`chainrule train` for a shaped network (conv2d, pooling, batchnorm, residual, rnn): the run's
trainer (`train.model_trainer`), on the file's examples, with the same progress, history, Ctrl-C,
checkpoints and -o as a dense run; `--backend torch` runs the updates on PyTorch."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.cli.common import say
from chainrule.cli.train_data import Prepared, load_data, run_rngs
from chainrule.cli.train_files import Outputs
from chainrule.engine.model import Model
from chainrule.errors import ChainruleError
from chainrule.io import data as datasets
from chainrule.train.checkpoint import load_checkpoint
from chainrule.train.model_trainer import ModelTrainer
from chainrule.train.trainer import TrainConfig

# Options a dense run takes that a shaped one does not yet: (option, its value when not given, why).
NOT_YET = {
    "standardize": ("--standardize", False, "a shaped network's file keeps no standardisation to predict with"),
    "torch_script": ("--torch-script", None, "the script writes dense networks"),
    "device": ("--device", "cpu", "shaped networks train on the CPU"),
    "nproc": ("--nproc", 1, "shaped networks train in one process"),
}


def prepare_model(model: Model, opts: dict[str, Any], config: TrainConfig) -> Prepared:
    """The run of a shaped network on the file's examples or on --data (each row's input columns
    are one example's tensor, C×H×W or T×F in row-major order, as NumPy's reshape reads them),
    with --val split off; an option it does not take is one line."""
    for key, (option, default, why) in NOT_YET.items():
        if opts.get(key, default) != default:
            raise ChainruleError(f"{option}: not yet for a shaped network ({why})")
    data_rng, split_rng, _ = run_rngs(model.training.seed, opts)
    outputs = int(np.prod(model.shapes()[-1]))
    shape = tuple(model.input_shape)
    if opts.get("data"):
        ds = load_data(opts, data_rng, outputs)
    elif len(model.x):
        flat = model.x.reshape(len(model.x), -1)
        ds = datasets.Dataset(flat, [f"x{i + 1}" for i in range(flat.shape[1])], model.title, "y", values=model.y)
    else:
        raise ChainruleError("expected [[examples]] in a shaped network's file, or --data FILE, to train on")
    expected = int(np.prod(shape))
    if ds.x.shape[1] != expected:
        raise ChainruleError(
            f"{ds.source}: the data has {ds.x.shape[1]} input columns; expected {expected} "
            f"({' × '.join(map(str, shape))}, the network's inputs) for {model.title or 'the network'}"
        )
    train_ds, val_ds = datasets.split(ds, opts["val"], split_rng)

    def tensors(part: datasets.Dataset) -> tuple[np.ndarray, np.ndarray]:
        return part.x.reshape(len(part.x), *shape), datasets.targets_of(outputs, model.loss, part)

    x, y = tensors(train_ds)
    x_val, y_val = tensors(val_ds) if val_ds is not None else (None, None)
    trainer = ModelTrainer(model, x, y, config, backend=opts["backend"], x_val=x_val, y_val=y_val)
    from_file = not opts.get("data")
    return Prepared(trainer, None if from_file else ds, None, from_file)


def setup_model(net: Model, opts: dict[str, Any], config: TrainConfig, outputs: Outputs) -> tuple[Prepared, Outputs]:
    """A shaped network's run: its trainer, its checkpoints binary (.npz), the state resumed, and
    PyTorch checked before the first update (--backend torch)."""
    prepared = prepare_model(net, opts, config)
    trainer = prepared.trainer
    assert isinstance(trainer, ModelTrainer)
    outputs = outputs.with_binary_checkpoints()
    if opts["resume"]:
        load_checkpoint(trainer, opts["resume"])
    trainer.preflight()
    if opts["backend"] != "torch":
        say(f"chainrule: {trainer.path_note}; training on the NumPy path.")
    return prepared, outputs
