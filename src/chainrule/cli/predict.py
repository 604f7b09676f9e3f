"""`chainrule predict`: a trained network's outputs for one example, or for every row of a data file.

The rows go out through the `csv` module, so a class named ``dark, red`` stays one cell, and every
name through `views.escape`: a class named ``=HYPERLINK(…)`` is text in a spreadsheet, and one
holding an escape sequence is shown, not acted on, in a terminal.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import click
import numpy as np

from chainrule.cli.common import checked_output, write_output
from chainrule.engine.network import Network
from chainrule.errors import ChainruleError
from chainrule.io import data as datasets
from chainrule.io import netfile
from chainrule.views.escape import csv_cell, terminal

FilePath = click.Path(path_type=Path, dir_okay=False)


@click.command()
@click.argument("file", type=FilePath)
@click.argument("inputs", nargs=-1, type=float)
@click.option(
    "--data",
    "csv_path",
    metavar="FILE",
    help="Predict every row of this data file (CSV, TSV, Parquet, .npz, .npy, IDX; - for stdin).",
)
@click.option(
    "-o",
    "--output",
    type=FilePath,
    callback=checked_output,
    help="Write the predictions (CSV with --data) to this file (- for stdout).",
)
@click.option("--delimiter", metavar="CHAR", help="--data's separator: one character, or tab (default: by suffix).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def predict(
    file: Path, inputs: tuple[float, ...], csv_path: str | None, output: Path | None, delimiter: str | None, fmt: str
) -> None:
    """The trained network's outputs for INPUTS (one example), or for every row of --data."""
    net = netfile.load(file, require_examples=False)
    if csv_path is not None:
        if inputs:
            raise ChainruleError("predict: expected either INPUTS or --data, not both")
        columns = net.data.columns if net.data and net.data.columns else net.input_names
        x = datasets.encode_inputs(csv_path, columns, delimiter)
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
        write_output(csv_text(names, out, classes), output)
    elif fmt == "json":
        doc: dict[str, Any] = {"outputs": out.tolist() if csv_path else out[0].tolist()}
        if classes:
            doc["class"] = classes if csv_path else classes[0]
        write_output(json.dumps(doc) + "\n", output)
    else:
        write_output(plain_text(names, out[0], classes[0] if classes else None), output)


def predicted_classes(net: Network, out: np.ndarray) -> list[str]:
    """The class name per row when the network was trained on labelled data; else nothing."""
    if net.data is None or not net.data.classes:
        return []
    return [net.data.classes[int(i)] for i in net.loss.classes(out)]


def plain_text(names: list[str], out: np.ndarray, predicted: str | None) -> str:
    """One example's outputs, "name = value" a line, then the class; names as the terminal shows them
    safely (an escape sequence or a line break in a name is shown, not acted on)."""
    lines = [f"{terminal(n)} = {float(v)!r}" for n, v in zip(names, out, strict=True)]
    lines += [f"class = {terminal(predicted)}"] if predicted is not None else []
    return "\n".join(lines) + "\n"


def csv_text(names: list[str], out: np.ndarray, classes: list[str]) -> str:
    """The predictions as CSV: one column per output (shortest exact floats), then the class. Names
    and classes are a user's text: a spreadsheet never reads one as a formula (escape.csv_cell)."""
    header = [*map(csv_cell, names), *(["class"] if classes else [])]
    cells = [csv_cell(c) for c in classes]
    buffer = io.StringIO()
    # The csv module quotes a cell holding a character of the line ending only: with "\n" lines, a
    # name holding a lone "\r" would go out bare and split its row for every reader; "\r\n" then.
    ending = "\r\n" if any("\r" in c for c in [*header, *cells]) else "\n"
    writer = csv.writer(buffer, lineterminator=ending)
    writer.writerow(header)
    for i, o in enumerate(out):
        writer.writerow([*(repr(float(v)) for v in o), *([cells[i]] if classes else [])])
    return buffer.getvalue()
