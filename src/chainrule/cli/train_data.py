"""The data `chainrule train` trains on: loaded, checked against the network, split, standardised."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.engine.network import Network
from chainrule.errors import ChainruleError
from chainrule.io import data as datasets
from chainrule.train.trainer import TrainConfig, Trainer


@dataclass
class Prepared:
    """The data a run trains on, after the split and the standardisation."""

    trainer: Trainer
    dataset: datasets.Dataset | None  # None: a shaped network's own examples (cli/train_model.py)
    scaler: datasets.Standardizer | None
    from_file: bool


def run_rngs(seed: int, opts: dict[str, Any]) -> list[np.random.Generator]:
    """The run's three random streams, from --seed or the file's seed: the data's, the split's, training's."""
    chosen = seed if opts["seed"] is None else opts["seed"]
    return [np.random.default_rng(s) for s in np.random.SeedSequence(chosen).spawn(3)]


def load_data(opts: dict[str, Any], rng: np.random.Generator, outputs: int) -> datasets.Dataset:
    """--data as the options read it (--target, --size, --noise, --labels, --delimiter), a column of
    whole numbers read as classes where `outputs` (or --classes) says so."""
    ds = datasets.load(
        opts["data"],
        rng,
        target=opts["target"],
        size=opts["size"],
        noise=opts["noise"],
        labels=opts["labels"],
        delimiter=opts["delimiter"],
    )
    return datasets.as_classes(ds, outputs, forced=opts["classes"])


def prepare(net: Network, opts: dict[str, Any], config: TrainConfig) -> Prepared:
    """Load the data, check it fits the network, split off validation, standardise, make the trainer."""
    data_rng, split_rng, train_rng = run_rngs(net.training.seed, opts)
    ds = load_data(opts, data_rng, net.output_layer.units) if opts["data"] else datasets.from_network(net)
    if ds.x.shape[1] != len(net.input_names):
        raise ChainruleError(
            f"{ds.source}: the data has {ds.x.shape[1]} input columns ({', '.join(ds.columns[:5])}"
            f"{', ...' if len(ds.columns) > 5 else ''}); expected {len(net.input_names)} for the network's inputs "
            f"({', '.join(net.input_names[:5])}) in {net.source}"
        )
    train_ds, val_ds = datasets.split(ds, opts["val"], split_rng)
    scaler = datasets.Standardizer.fit(train_ds.x) if opts["standardize"] else None

    def inputs(part: datasets.Dataset) -> np.ndarray:
        return scaler.apply(part.x) if scaler else part.x

    trainer = Trainer(
        net,
        inputs(train_ds),
        datasets.targets_for(net, train_ds),
        config,
        rng=train_rng,
        x_val=None if val_ds is None else inputs(val_ds),
        y_val=None if val_ds is None else datasets.targets_for(net, val_ds),
    )
    return Prepared(trainer, ds, scaler, not opts["data"])
