"""`chainrule train` and `chainrule predict`: thin commands over data.py, train.py and netfile."""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np

from chainrule.engine.network import Network
from chainrule.errors import ChainruleError
from chainrule.io import data as datasets
from chainrule.io import netfile
from chainrule.train.allocator import keep_freed_memory
from chainrule.train.optim import OPTIMIZERS, Schedule
from chainrule.train.trainer import STOP_WORDS, EpochRecord, TrainConfig, Trainer, TrainResult, stop_on_interrupt

FilePath = click.Path(path_type=Path, dir_okay=False)
CHECKPOINT_FORMAT = "chainrule-checkpoint/1"


def _batch(value: str | None) -> str | int | None:
    if value is None or value in ("online", "full"):
        return value
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise ChainruleError(f'--batch: expected "online", "full" or a batch size ≥ 1, got {value!r}')


@dataclass
class Prepared:
    """The data a run trains on, after the split and the standardisation."""

    trainer: Trainer
    dataset: datasets.Dataset
    scaler: datasets.Standardizer | None
    from_file: bool


def prepare(net: Network, opts: dict[str, Any], config: TrainConfig) -> Prepared:
    """Load the data, check it fits the network, split off validation, standardise, make the trainer."""
    seed = net.training.seed if opts["seed"] is None else opts["seed"]
    data_rng, split_rng, train_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    if opts["data"]:
        ds = datasets.load(opts["data"], data_rng, target=opts["target"], size=opts["size"], noise=opts["noise"])
    else:
        ds = datasets.from_network(net)
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


# -- progress -------------------------------------------------------------------------------------


def metrics_text(r: EpochRecord) -> str:
    """loss 0.0211 acc 99.2% │ val 0.1695 acc 96.7%: short enough for an 80-column progress line."""
    text = f"loss {r.loss:.4g}" + ("" if r.accuracy is None else f" acc {r.accuracy:.1%}")
    if r.val_loss is not None:
        text += f" │ val {r.val_loss:.4g}" + ("" if r.val_accuracy is None else f" acc {r.val_accuracy:.1%}")
    return text


@contextmanager
def progress_bar(total: int, start: int, enabled: bool) -> Iterator[Any]:
    """A rich progress bar on stderr, redrawn at most ten times a second whatever the epoch rate."""
    if not enabled:
        yield lambda record, force=False: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("epoch"),
        MofNCompleteColumn(),
        BarColumn(bar_width=16),
        TextColumn("{task.fields[metrics]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), refresh_per_second=10) as progress:
        task = progress.add_task("train", total=total, completed=start, metrics="")
        last = 0.0

        def update(record: EpochRecord, force: bool = False) -> None:
            nonlocal last
            now = time.monotonic()
            if force or now - last >= 0.1 or record.epoch == total:
                last = now
                progress.update(task, completed=record.epoch, metrics=metrics_text(record))

        yield update


# -- checkpoints ------------------------------------------------------------------------------------


def save_checkpoint(trainer: Trainer, path: Path) -> None:
    """The network's parameters and the trainer's state, as readable JSON, written atomically."""
    doc = {
        "format": CHECKPOINT_FORMAT,
        "network": netfile.to_dict(trainer.net, include_examples=False),
        "trainer": trainer.state(),
    }
    netfile.write_atomic(path, json.dumps(doc) + "\n")


def load_checkpoint(trainer: Trainer, path: Path) -> None:
    """Continue `trainer` from a checkpoint of the same network (same parameter names and shapes)."""
    doc = netfile.read_document(path)
    if doc.get("format") != CHECKPOINT_FORMAT or "network" not in doc or "trainer" not in doc:
        raise ChainruleError(f"{path}: expected a chainrule checkpoint (written by --checkpoint-every)")
    saved = netfile.from_dict(doc["network"], source=str(path), require_examples=False)
    if saved.parameter_names() != trainer.net.parameter_names() or [layer.weight.shape for layer in saved.layers] != [
        layer.weight.shape for layer in trainer.net.layers
    ]:
        raise ChainruleError(f"{path}: expected a checkpoint of {trainer.net.source}; it is of another network")
    for mine, theirs in zip(trainer.net.layers, saved.layers, strict=True):
        mine.weight[...], mine.bias[...], mine.alpha[...] = theirs.weight, theirs.bias, theirs.alpha
    trainer.load_state(doc["trainer"])


# -- the summary -----------------------------------------------------------------------------------


def sample(n: int, k: int = 5) -> np.ndarray:
    """k example indices spread evenly over the data (sorted data sets show every part)."""
    return np.unique(np.linspace(0, n - 1, min(k, n)).round().astype(int))


def summary(result: TrainResult, trainer: Trainer, before: np.ndarray, first: int) -> Any:
    """What happened: why it stopped, time, epochs, final metrics, predictions before and after."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    last = result.final
    lines = [Text(f"Stopped: {STOP_WORDS[result.stopped_by]}.", style="bold")]
    rate = (trainer.updates / result.seconds) if result.seconds > 0 else float("inf")
    lines.append(
        Text(
            f"{trainer.epoch - first} epochs{f' (resumed at {first})' if first else ''}, {trainer.updates:,} updates "
            f"in {result.seconds:.2f} s ({rate:,.0f} updates/s, {'compiled' if trainer.path == 'compiled' else 'NumPy'} path)"
        )
    )
    target = trainer.config.until_loss
    if target is not None and result.stopped_by == "epochs":
        lines.append(Text(f"The target loss {target:g} was not reached: train longer with --epochs.", style="yellow"))
    if result.best_epoch is not None:
        lines.append(Text(f"Kept the parameters of epoch {result.best_epoch}, the best validation loss."))
    if last is not None:
        lines.append(Text(("Kept: " if result.best_epoch else "Final: ") + metrics_text(last)))
    net = result.network
    shown = sample(len(trainer.x))
    after = net.forward(trainer.x[shown]).output
    lines.append(Text(f"\nPredictions on {len(shown)} training examples, before and after training:"))
    table = Table()
    for name in ("example", "target", "before", "after"):
        table.add_column(name, justify="right")
    for j, i in enumerate(shown):
        row = [str(i + 1)] + [_vec(v) for v in (trainer.y[i], before[j], after[j])]
        table.add_row(*row)
    return Group(*lines, table)


def _vec(v: np.ndarray) -> str:
    return ", ".join(f"{x:.4g}" for x in v)


def write_history(history: list[EpochRecord], path: Path) -> None:
    """Per-epoch metrics as CSV (empty cells where a metric does not apply), written atomically."""
    keys = list(asdict(history[0])) if history else list(EpochRecord.__dataclass_fields__)
    lines = [",".join(keys)]
    for r in history:
        lines.append(",".join("" if v is None else repr(v) for v in asdict(r).values()))
    netfile.write_atomic(path, "\n".join(lines) + "\n")


# -- the commands ----------------------------------------------------------------------------------


@click.command()
@click.argument("file", type=FilePath)
@click.option(
    "--data",
    metavar="SET|FILE.csv",
    help="Train on a CSV file, " + ", ".join(datasets.BUILTIN + datasets.REAL) + " (default: the file's [[examples]]).",
)
@click.option("--target", metavar="COLUMN", help="The CSV column to learn.")
@click.option("--size", type=click.IntRange(4), default=200, show_default=True, help="Points in a built-in 2-D set.")
@click.option("--noise", type=float, help="Noise (standard deviation) of a built-in 2-D set.")
@click.option(
    "--standardize", is_flag=True, help="Scale each input to mean 0, standard deviation 1 (saved with the network)."
)
@click.option("--val", type=float, default=0.0, show_default=True, help="Fraction of the data held out for validation.")
@click.option("--epochs", type=int, help="Epochs to train (default: the file's training.epochs).")
@click.option("--until-loss", type=float, help="Stop when the training loss reaches this.")
@click.option("--patience", type=int, help="Stop when the validation loss has not improved for this many epochs.")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default="sgd", show_default=True)
@click.option("--lr", type=float, help="Learning rate (default: the file's training.learning_rate).")
@click.option("--momentum", type=float, default=0.9, show_default=True, help="Momentum of momentum and nesterov.")
@click.option(
    "--weight-decay", type=float, default=0.0, show_default=True, help="L2 weight decay λ (adds λθ to each gradient)."
)
@click.option("--batch", help='"online", "full" or a batch size (default: the file\'s training.batch).')
@click.option("--reduction", type=click.Choice(["sum", "mean"]), help="How a batch's losses combine.")
@click.option("--schedule", type=click.Choice(["constant", "step", "cosine"]), default="constant", show_default=True)
@click.option("--step-every", type=int, default=100, show_default=True, help="step schedule: epochs between decays.")
@click.option("--gamma", type=float, default=0.5, show_default=True, help="step schedule: the factor at each decay.")
@click.option("--seed", type=click.IntRange(0), help="Random seed (default: the file's training.seed).")
@click.option("--shuffle/--no-shuffle", default=True, show_default=True, help="Shuffle the examples each epoch.")
@click.option(
    "--dtype",
    type=click.Choice(["float64", "float32"]),
    help="Train in this precision (default: the file's training.dtype); float32 is faster on large networks.",
)
@click.option("-o", "--output", type=FilePath, help="Save the trained network (TOML or JSON by extension).")
@click.option("--plot", type=FilePath, help="Save the loss curves (and a 2-D decision boundary) as a PNG/SVG/PDF.")
@click.option("--history", type=FilePath, help="Save the per-epoch metrics as CSV.")
@click.option("--checkpoint-every", type=click.IntRange(1), help="Save a checkpoint every N epochs.")
@click.option("--checkpoint", type=FilePath, help="The checkpoint file (default: checkpoint.json).")
@click.option("--resume", type=FilePath, help="Continue from this checkpoint (same command and data).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
def train(file: Path, **opts: Any) -> None:
    """Train the network in FILE: epochs of updates until a stopping rule fires."""
    keep_freed_memory()
    if opts["plot"] and importlib.util.find_spec("matplotlib") is None:  # say so before training, not after
        raise ChainruleError("--plot: needs matplotlib; install it with pip install 'chainrule[plot]'")
    net = netfile.load(file, require_examples=not opts["data"])
    config = TrainConfig(
        epochs=opts["epochs"],
        optimizer=opts["optimizer"],
        learning_rate=opts["lr"],
        momentum=opts["momentum"],
        weight_decay=opts["weight_decay"],
        batch=_batch(opts["batch"]),  # type: ignore[arg-type]
        reduction=opts["reduction"],
        schedule=Schedule(opts["schedule"], every=opts["step_every"], gamma=opts["gamma"]),
        until_loss=opts["until_loss"],
        patience=opts["patience"],
        shuffle=opts["shuffle"],
        seed=opts["seed"],
        dtype=opts["dtype"],
    )
    prepared = prepare(net, opts, config)
    trainer = prepared.trainer
    if opts["resume"]:
        load_checkpoint(trainer, opts["resume"])
    result = run(trainer, opts)
    finish(result, prepared, opts)


def _load_compiled(trainer: Trainer, quiet: bool) -> None:
    """Load the compiled loop; if that takes a while (a fresh install builds it), say why."""
    import threading

    from chainrule.train.compiled.run import load_loop

    def notice() -> None:
        click.echo("chainrule: building the compiled training loop (first run only; it is cached after)...", err=True)

    timer = threading.Timer(1.0, notice)
    if not quiet:
        timer.start()
    try:
        load_loop(trainer)
    finally:
        timer.cancel()


def run(trainer: Trainer, opts: dict[str, Any]) -> TrainResult:
    """Train with the progress bar, checkpoints every N epochs, and Ctrl-C saving a checkpoint."""
    checkpoint = opts["checkpoint"] or Path("checkpoint.json")
    every = opts["checkpoint_every"]

    def save_every(record: EpochRecord) -> None:
        if every and record.epoch % every == 0:
            save_checkpoint(trainer, checkpoint)

    trainer.sync_every = every or 0
    if trainer.path_note:
        click.echo(f"chainrule: {trainer.path_note}; training on the NumPy path.", err=True)
    if trainer.path == "compiled":
        _load_compiled(trainer, quiet=opts["quiet"])
    first = trainer.epoch
    before = trainer.net.forward(trainer.x[sample(len(trainer.x))]).output
    with stop_on_interrupt(trainer), progress_bar(trainer.epochs, first, not opts["quiet"]) as show:
        result = trainer.run([show, save_every])
        if trainer.history:
            show(trainer.history[-1], force=True)  # the bar ends on the epoch it stopped at
    if result.stopped_by == "interrupted":
        save_checkpoint(trainer, checkpoint)
        click.echo(
            f"Interrupted after update {trainer.updates:,}; saved {checkpoint}. "
            f"Resume with the same command and --resume {checkpoint}",
            err=True,
        )
    if not opts["quiet"]:
        from rich.console import Console

        Console(highlight=False).print(summary(result, trainer, before, first))
    return result


def finish(result: TrainResult, prepared: Prepared, opts: dict[str, Any]) -> None:
    """Save what was asked for: the trained network (with its [data] table), history, plot."""
    net = result.network
    if not prepared.from_file or prepared.scaler is not None:
        net.data = datasets.data_info(prepared.dataset, prepared.scaler)
    if opts["output"]:
        _write(lambda: netfile.save(net, opts["output"]), opts["output"])
    if opts["history"]:
        _write(lambda: write_history(result.history, opts["history"]), opts["history"])
    if opts["plot"]:
        from chainrule.plots.train import plot_training

        t = prepared.trainer
        _write(lambda: plot_training(result, opts["plot"], t.x, t.y, x_val=t.x_val, y_val=t.y_val), opts["plot"])


def _write(save: Any, path: Path) -> None:
    try:
        save()
    except OSError as exc:
        raise ChainruleError(f"{path}: cannot write ({exc.strerror})") from None


@click.command()
@click.argument("file", type=FilePath)
@click.argument("inputs", nargs=-1, type=float)
@click.option("--data", "csv_path", type=FilePath, help="Predict every row of this CSV file.")
@click.option("-o", "--output", type=FilePath, help="Write the predictions (CSV with --data) to this file.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def predict(file: Path, inputs: tuple[float, ...], csv_path: Path | None, output: Path | None, fmt: str) -> None:
    """The trained network's outputs for INPUTS (one example), or for every row of --data."""
    from chainrule.cli.common import write_output

    net = netfile.load(file, require_examples=False)
    if csv_path is not None:
        if inputs:
            raise ChainruleError("predict: expected either INPUTS or --data, not both")
        columns = net.data.columns if net.data and net.data.columns else net.input_names
        x = datasets.encode_inputs(csv_path, columns)
    else:
        if len(inputs) != len(net.input_names):
            raise ChainruleError(
                f"predict: expected {len(net.input_names)} inputs ({', '.join(net.input_names)}), got {len(inputs)}"
            )
        x = np.array([inputs])
    out = net.forward(datasets.prepare_inputs(net, x)).output
    classes = predicted_classes(net, out)
    names = net.output_layer.neuron_names
    if csv_path is not None and fmt == "text":
        rows = [",".join([*names, *(["class"] if classes else [])])]
        for i, o in enumerate(out):
            rows.append(",".join([*(repr(float(v)) for v in o), *([classes[i]] if classes else [])]))
        write_output("\n".join(rows) + "\n", output)
    elif fmt == "json":
        doc: dict[str, Any] = {"outputs": out.tolist() if csv_path else out[0].tolist()}
        if classes:
            doc["class"] = classes if csv_path else classes[0]
        write_output(json.dumps(doc) + "\n", output)
    else:
        lines = [f"{n} = {float(v)!r}" for n, v in zip(names, out[0], strict=True)]
        lines += [f"class = {classes[0]}"] if classes else []
        write_output("\n".join(lines) + "\n", output)


def predicted_classes(net: Network, out: np.ndarray) -> list[str]:
    """The class name per row when the network was trained on labelled data; else nothing."""
    if net.data is None or not net.data.classes:
        return []
    names = net.data.classes
    if out.shape[1] == 1:
        cut = 0.0 if net.loss.name == "hinge" else 0.5
        return [names[int(v > cut)] for v in out[:, 0]]
    return [names[int(i)] for i in np.argmax(out, axis=1)]
