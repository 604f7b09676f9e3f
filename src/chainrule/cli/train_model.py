"""`chainrule train` for a shaped network (conv2d, pooling, batchnorm, residual, rnn): the run's
trainer (`train.model_trainer`), on the file's examples, with the same progress, history, Ctrl-C,
checkpoints and -o as a dense run; `--backend torch` runs the updates on PyTorch."""

from __future__ import annotations

from typing import Any

from chainrule.cli.common import say
from chainrule.cli.train_data import Prepared
from chainrule.cli.train_files import Outputs
from chainrule.engine.model import Model
from chainrule.errors import ChainruleError
from chainrule.train.checkpoint import load_checkpoint
from chainrule.train.model_trainer import ModelTrainer
from chainrule.train.trainer import TrainConfig

# Options a dense run takes that a shaped one does not yet: (option, its value when not given).
NOT_YET = {
    "data": ("--data", None),
    "val": ("--val", 0.0),
    "standardize": ("--standardize", False),
    "classes": ("--classes", False),
    "torch_script": ("--torch-script", None),
    "device": ("--device", "cpu"),
    "nproc": ("--nproc", 1),
}


def prepare_model(model: Model, opts: dict[str, Any], config: TrainConfig) -> Prepared:
    """The run of a shaped network on the file's examples; an option it does not take is one line."""
    for key, (option, default) in NOT_YET.items():
        if opts.get(key, default) != default:
            raise ChainruleError(f"{option}: not yet for a shaped network ({model.title or 'this file'}); "
                                 "train on the file's [[examples]]")  # fmt: skip
    if not len(model.x):
        raise ChainruleError("expected [[examples]] in a shaped network's file to train on")
    trainer = ModelTrainer(model, model.x, model.y, config, backend=opts["backend"])
    return Prepared(trainer, None, None, True)


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
