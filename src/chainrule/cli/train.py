"""`chainrule train`: a thin command over the data sets, the trainer and the network files.

Nothing lost, nothing crashes: every output path is checked before training starts; Ctrl-C stops
within a fraction of a second, saves once (a second Ctrl-C during the save is ignored) and exits
with status 130; a run whose loss or parameters stop being finite stops with one line, saves its
last finite parameters and exits with status 1.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from chainrule.cli.common import say
from chainrule.cli.predict import predict
from chainrule.cli.signals import exit_at_once
from chainrule.cli.train_data import Prepared, prepare
from chainrule.cli.train_files import Outputs, writable
from chainrule.cli.train_report import metrics_text, progress_bar, sample, summary
from chainrule.engine.batching import parse_batch
from chainrule.engine.model import Model
from chainrule.errors import ChainruleError
from chainrule.io import data as datasets
from chainrule.io import loader, modelwrite, netfile, netnpz
from chainrule.train.allocator import keep_freed_memory
from chainrule.train.checkpoint import load_checkpoint, save_checkpoint
from chainrule.train.history import HistoryFile
from chainrule.train.optim import OPTIMIZERS, Schedule
from chainrule.train.records import EpochRecord
from chainrule.train.trainer import TrainConfig, Trainer, TrainResult, stop_on_interrupt

FilePath = click.Path(path_type=Path, dir_okay=False)
EXIT_DIVERGED = 1
EXIT_BAD_INPUT = 2  # what every one-line refusal exits with
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command Ctrl-C stopped

__all__ = ["metrics_text", "predict", "train"]


# -- the command ----------------------------------------------------------------------------------


@click.command()
@click.argument("file", type=FilePath)
@click.option(
    "--data",
    metavar="SET|FILE",
    help="Train on a data file (CSV, TSV, .npz, .npy, Parquet, IDX; - for stdin) or "
    + ", ".join(datasets.BUILTIN + datasets.REAL)
    + " (default: the file's [[examples]]).",
)
@click.option("--target", metavar="COLUMN", help="The column (or .npz array) to learn.")
@click.option("--labels", metavar="FILE", help="The IDX labels file (default: the images file's labels-idx1 twin).")
@click.option("--delimiter", metavar="CHAR", help="A CSV file's separator: one character, or tab (default: by suffix).")
@click.option("--classes", is_flag=True, help="Read a numeric target as class labels (see docs/train.md).")
@click.option("--size", type=click.IntRange(4), default=200, show_default=True, help="Points in a built-in 2-D set.")
@click.option("--noise", type=float, help="Noise (standard deviation) of a built-in 2-D set.")
@click.option(
    "--standardize", is_flag=True, help="Scale each input to mean 0, standard deviation 1 (saved with the network)."
)
@click.option("--val", type=float, default=0.0, show_default=True, help="Fraction of the data held out for validation.")
@click.option("--epochs", type=int, help="Epochs to train (default: the file's training.epochs).")
@click.option("--until-loss", type=float, help="Stop when the training loss reaches this.")
@click.option("--patience", type=int, help="Stop when the validation loss has not improved for this many epochs.")
@click.option(
    "--evaluate-every",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    metavar="K",
    help="Also evaluate the whole training set after every K-th epoch (0: only with --until-loss and at the end); "
    "other epochs report the running loss and accuracy of the epoch's own forward passes.",
)
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), help="Default: the file's training.optimizer, else sgd.")
@click.option("--lr", type=float, help="Learning rate (default: the file's training.learning_rate).")
@click.option("--momentum", type=float, help="Momentum of momentum and nesterov (default: the file's, else 0.9).")
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
@click.option(
    "-o",
    "--output",
    help="Save the trained network (TOML, JSON or .npz by extension, - for TOML on stdout); also when interrupted.",
)
@click.option(
    "--plot", help="Save the loss curves (and a 2-D decision boundary) as a picture: .png, .svg, .pdf, … by its suffix."
)
@click.option("--history", help="Write the per-epoch metrics as CSV, appended as training goes.")
@click.option("--checkpoint-every", type=click.IntRange(1), help="Also save the checkpoint every N epochs.")
@click.option(
    "--checkpoint", help="Save the run's state here at the end and when interrupted (default: beside -o, on Ctrl-C)."
)
@click.option("--resume", type=FilePath, help="Continue from this checkpoint (same command and data).")
@click.option(
    "--backend",
    type=click.Choice(["chainrule", "torch"]),
    default="chainrule",
    show_default=True,
    help="torch: run the same training on PyTorch (the torch extra); see docs/scale.md.",
)
@click.option(
    "--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True, help="--backend torch: where."
)
@click.option(
    "--nproc",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="--backend torch: processes (DDP), same global batch.",
)
@click.option("--torch-script", help="Write a plain PyTorch training script for this network and settings, then exit.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
def train(file: Path, **opts: Any) -> None:
    """Train the network in FILE: epochs of updates until a stopping rule fires.

    Ctrl-C stops the run, saves -o and the checkpoint (--checkpoint, or beside -o) and exits with
    status 130; resume with the same command and --resume CHECKPOINT.
    """
    keep_freed_memory()
    ctx = click.get_current_context()
    if opts["backend"] == "torch":  # under torchrun (or --nproc), only rank 0 writes and shows progress
        from chainrule.cli.train_torch import for_rank

        opts = for_rank(opts)
    try:
        with exit_at_once("chainrule: interrupted before training started; nothing saved"):  # even mid-compile
            prepared, outputs = _setup(file, opts)
    except KeyboardInterrupt:
        say("chainrule: interrupted before training started; nothing saved")
        ctx.exit(EXIT_INTERRUPTED)
    if opts["torch_script"]:
        _torch_script(prepared.trainer, opts)
        return
    with stop_on_interrupt(prepared.trainer):  # from here on Ctrl-C asks the run to stop, and saves wait
        code = _run(prepared, outputs, opts)
    if code:
        ctx.exit(code)


def _setup(file: Path, opts: dict[str, Any]) -> tuple[Prepared, Outputs]:
    """Everything before the first update, each failure one line: paths, options, data, resume."""
    outputs = Outputs.check(opts)
    writable(opts["torch_script"], "--torch-script")
    if outputs.plot and importlib.util.find_spec("matplotlib") is None:  # say so before training, not after
        raise ChainruleError("--plot: needs matplotlib; install it with pip install 'chainrule[plot]'")
    net = loader.load(file, require_examples=not opts["data"])
    config = TrainConfig(
        epochs=opts["epochs"],
        optimizer=opts["optimizer"],
        learning_rate=opts["lr"],
        momentum=opts["momentum"],
        weight_decay=opts["weight_decay"],
        batch=None if opts["batch"] is None else parse_batch(opts["batch"]),
        reduction=opts["reduction"],
        schedule=Schedule(opts["schedule"], every=opts["step_every"], gamma=opts["gamma"]),
        until_loss=opts["until_loss"],
        patience=opts["patience"],
        evaluate_every=opts["evaluate_every"],
        shuffle=opts["shuffle"],
        seed=opts["seed"],
        dtype=opts["dtype"],
    )
    if isinstance(net, Model):
        from chainrule.cli.train_model import setup_model

        return setup_model(net, opts, config, outputs)
    prepared = prepare(net, opts, config)
    trainer = prepared.trainer
    outputs, binary = outputs.for_size(trainer.net.parameter_count())
    if binary:  # even with -q: the files' names changed
        say(f"chainrule: {binary}.")
    if opts["resume"]:
        load_checkpoint(trainer, opts["resume"])
    if opts["torch_script"]:
        return prepared, outputs  # nothing trains here
    if opts["backend"] == "torch":
        from chainrule.cli.train_torch import runner

        trainer.runner = runner(file, opts, trainer, follow)
        trainer.runner.load(trainer)
        return prepared, outputs
    if opts["device"] != "cpu" or opts["nproc"] != 1:
        raise ChainruleError("--device and --nproc: expected --backend torch (the built-in loop runs on one CPU)")
    if trainer.path_note:
        say(f"chainrule: {trainer.path_note}; training on the NumPy path.")
    if trainer.runner is not None:
        _load_compiled(trainer, quiet=opts["quiet"])
    return prepared, outputs


def follow(file: Path, opts: dict[str, Any], env: dict[str, str]) -> None:
    """One of `--nproc`'s other processes (cli/train_torch.py): this command, with env as its own
    torchrun environment, saying nothing (rank 0 speaks for the run) but a failure, in one line
    naming the rank; it exits with the command's status (130 after Ctrl-C)."""
    import os
    import sys

    os.environ.update(env)  # this new process's own environment, as torchrun would have set it
    said, sys.stderr = sys.stderr, open(os.devnull, "w")  # noqa: SIM115  (for the process's life)
    try:
        with click.Context(train) as ctx:
            ctx.invoke(train, file=file, **opts)
    except click.exceptions.Exit as done:
        raise SystemExit(done.exit_code) from None
    except Exception as exc:  # one line for any failure: the run stops on it
        said.write(f"chainrule: process {env['RANK']}: {exc if isinstance(exc, ChainruleError) else repr(exc)}\n")
        raise SystemExit(2) from None


def _torch_script(trainer: Trainer, opts: dict[str, Any]) -> None:
    """--torch-script FILE: the script and its arrays (parameters, prepared data); no training here."""
    from chainrule.train.torch_script import write_script

    path = writable(opts["torch_script"], "--torch-script")
    assert path is not None
    files = write_script(path, trainer.net, trainer.x, trainer.y, trainer.optimizer.settings,
                         trainer.config.weight_decay, trainer.epochs, trainer.size)  # fmt: skip
    say(f"chainrule: wrote {' and '.join(map(str, files))}; run: python {files[0]}")


def _load_compiled(trainer: Trainer, quiet: bool) -> None:
    """Load the compiled loop; if that takes a while (a fresh install builds it), say why."""
    import threading

    def notice() -> None:
        say("chainrule: building the compiled training loop (first run only; it is cached after)...")

    timer = threading.Timer(1.0, notice)
    if not quiet:
        timer.start()
    try:
        assert trainer.runner is not None
        trainer.runner.load(trainer)
    finally:
        timer.cancel()


def _run(prepared: Prepared, outputs: Outputs, opts: dict[str, Any]) -> int:
    """Train with the progress bar, the history file and the checkpoints; then save what was asked.
    Returns the exit status."""
    trainer = prepared.trainer
    history, path = None, outputs.history
    if path is not None:
        history = _open(lambda: HistoryFile(path, trainer.epoch if opts["resume"] else None), path)
    first = trainer.epoch
    before = trainer.net.forward(trainer.x[sample(len(trainer.x))]).output
    trainer.sync_every = outputs.every or 0
    try:
        with progress_bar(trainer.epochs, first, not opts["quiet"]) as show:
            # once per chunk of epochs: a fast loop's chunk is columns, and the bar needs its last record only
            callbacks: list[Callable[[Sequence[EpochRecord]], None]] = [lambda chunk: show(chunk[-1])]
            if history is not None:
                callbacks.append(_recording(history, trainer))
            if outputs.every and outputs.checkpoint_file:
                callbacks.append(_every(trainer, outputs.every, outputs.checkpoint_file))
            result = trainer.run(chunk_callbacks=callbacks)
            if trainer.history.last is not None:
                show(trainer.history.last, force=True)  # the bar ends on the epoch it stopped at
    finally:
        if history is not None:
            history.close()
    if history is not None and history.error is not None:
        return _history_failed(history, result, prepared, outputs)
    if result.stopped_by == "diverged":
        return _diverged(result, prepared, outputs)
    if not opts["quiet"]:
        from rich.console import Console

        Console(highlight=False, stderr=outputs.to_stdout).print(summary(result, trainer, before, first))
    if result.stopped_by == "interrupted":
        return _interrupted(result, prepared, outputs)
    _save(result, prepared, outputs, checkpoint=outputs.checkpoint)
    return 0


def _recording(history: HistoryFile, trainer: Trainer) -> Callable[[Sequence[EpochRecord]], None]:
    """Append a chunk to the history file; if that fails, ask the run to stop (as Ctrl-C does)."""

    def record(chunk: Sequence[EpochRecord]) -> None:
        history.write(chunk)
        if history.error is not None:
            trainer.stop_requested = True

    return record


def _history_failed(history: HistoryFile, result: TrainResult, prepared: Prepared, outputs: Outputs) -> int:
    """--history could not be written (a full disk, a file-size limit): the run stopped; save what
    it made, as on Ctrl-C, and say so in one line. Exit status 2."""
    error = history.error
    assert error is not None
    t = prepared.trainer
    line = f"chainrule: --history {history.path}: cannot write ({error.strerror or error}); training stopped"
    line += f" after epoch {t.epoch}" if t.position == 0 else f" in epoch {t.epoch + 1}"
    files = [str(p) for p in (outputs.network, outputs.checkpoint_file) if p is not None]
    if files:
        _save(result, prepared, outputs, checkpoint=outputs.checkpoint_file)
        line += f"; saved {' and '.join(files)}; resume with --resume {outputs.checkpoint_file}"
    say(line)
    return EXIT_BAD_INPUT


def _every(trainer: Trainer, every: int, path: Path) -> Callable[[Sequence[EpochRecord]], None]:
    """Save the checkpoint after every `every`-th epoch; a chunk ends there (`Trainer.sync_every`),
    so that the network then holds that epoch's parameters."""

    def save_every(chunk: Sequence[EpochRecord]) -> None:
        if chunk[-1].epoch % every == 0:
            _write(lambda: save_checkpoint(trainer, path), path)

    return save_every


def _interrupted(result: TrainResult, prepared: Prepared, outputs: Outputs) -> int:
    """Ctrl-C: save the network and the checkpoint once, saying so before and after."""
    t = prepared.trainer
    where = f"epoch {t.epoch + 1}, after update {t.updates:,}" if t.position else f"after epoch {t.epoch}"
    files = [str(p) for p in (outputs.network, outputs.checkpoint_file) if p is not None]
    if not files:
        say(f"chainrule: interrupted {where}; nothing saved (-o FILE keeps an interrupted run)")
        return EXIT_INTERRUPTED
    say(f"chainrule: interrupted {where}; saving {' and '.join(files)} …")
    _save(result, prepared, outputs, checkpoint=outputs.checkpoint_file)
    resume = outputs.checkpoint_file
    say(f"chainrule: saved {' and '.join(files)}; resume with the same command and --resume {resume}")
    return EXIT_INTERRUPTED


def _diverged(result: TrainResult, prepared: Prepared, outputs: Outputs) -> int:
    """One line: the epoch, what stopped being finite, what to do, and what was saved."""
    t = prepared.trainer
    line = f"chainrule: training diverged in epoch {t.epoch + 1} ({result.divergence}); lower the learning rate (--lr)"
    if outputs.network is not None:
        _save(result, prepared, outputs, checkpoint=None)
        line += f"; saved the last finite parameters (epoch {t.epoch}) to {outputs.network}"
    say(line)
    return EXIT_DIVERGED


def _save(result: TrainResult, prepared: Prepared, outputs: Outputs, checkpoint: Path | None) -> None:
    """Save what was asked for: the trained network (with its [data] table), checkpoint, plot."""
    net = result.network
    shaped = isinstance(net, Model)  # (a shaped network's file has no [data] table: its inputs are a tensor)
    if not shaped and prepared.dataset is not None and (not prepared.from_file or prepared.scaler is not None):
        net.data = datasets.data_info(prepared.dataset, prepared.scaler)
    if outputs.to_stdout:
        text = modelwrite.dumps(net) if isinstance(net, Model) else netfile.dumps_toml(netfile.to_dict(net))
        click.echo(text, nl=False)
    elif outputs.network and outputs.binary:
        _write(lambda: netnpz.save_npz(net, outputs.network), outputs.network)  # type: ignore[arg-type]
    elif outputs.network:
        _write(lambda: loader.save(net, outputs.network), outputs.network)  # type: ignore[arg-type]
    if checkpoint:
        _write(lambda: save_checkpoint(prepared.trainer, checkpoint), checkpoint)
    if outputs.plot and result.stopped_by != "interrupted":
        from chainrule.plots.train import plot_training

        t = prepared.trainer
        _write(lambda: plot_training(result, outputs.plot, t.x, t.y, x_val=t.x_val, y_val=t.y_val), outputs.plot)  # type: ignore[arg-type]


def _open(make: Callable[[], HistoryFile], path: Path) -> HistoryFile:
    try:
        return make()
    except OSError as exc:
        raise ChainruleError(f"{path}: cannot write ({exc.strerror})") from None


def _write(save: Callable[[], None], path: Path) -> None:
    try:
        save()
    except OSError as exc:
        raise ChainruleError(f"{path}: cannot write ({exc.strerror})") from None
