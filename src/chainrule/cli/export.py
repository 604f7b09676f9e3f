"""`chainrule export`, `chainrule import` and `chainrule examples`: a network to and from PyTorch
and ONNX, and the built-in examples by name. PyTorch and ONNX are imported only here, when asked."""

from __future__ import annotations

from pathlib import Path

import click

from chainrule.cli.common import write_output
from chainrule.errors import ChainruleError

FORMATS = {".pt": "PyTorch", ".pth": "PyTorch", ".onnx": "ONNX"}


@click.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="model.pt (a state_dict and the architecture, for PyTorch) or model.onnx (the forward pass).",
)
@click.option(
    "--dtype",
    type=click.Choice(["float32", "float64"]),
    default=None,
    help="ONNX only: the model's number type. [default: float32, what most ONNX runtimes take]",
)
def export(file: Path, output: Path, dtype: str | None) -> None:
    """Export FILE (a network file or a built-in example) to PyTorch (.pt) or ONNX (.onnx)."""
    kind = FORMATS.get(output.suffix.lower())
    if kind is None:
        raise ChainruleError(f"-o {output}: expected a file name ending .pt, .pth or .onnx")
    if dtype is not None and kind != "ONNX":
        raise ChainruleError("--dtype: expected only with an .onnx output (a .pt keeps the network's own dtype)")
    from chainrule.io import loader

    net = loader.load(file, require_examples=False)
    if kind == "PyTorch":
        from chainrule.io.torchfile import save_pt

        notes = save_pt(net, output)
    else:
        from chainrule.io.onnx import save_onnx

        notes = save_onnx(net, output, dtype or "float32")
    for note in notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"wrote {output} ({kind})", err=True)


@click.command("import")
@click.argument("model", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The network file to write (.toml or .json). [default: TOML on standard output]",
)
def import_command(model: Path, output: Path | None) -> None:
    """Read MODEL (a .pt from `chainrule export`, read with weights_only=True) into a network file."""
    from chainrule.engine.model import Model
    from chainrule.io import loader, modelwrite, netfile
    from chainrule.io.torchfile import load_pt

    if model.suffix.lower() not in (".pt", ".pth"):
        raise ChainruleError(f"{model}: expected a .pt or .pth file from `chainrule export`")
    net = load_pt(model)
    if output is None:
        text = modelwrite.dumps(net) if isinstance(net, Model) else netfile.dumps_toml(netfile.to_dict(net))
        write_output(text, None)
        return
    try:
        loader.save(net, output)
    except OSError as exc:
        raise ChainruleError(f"{output}: cannot write ({exc.strerror})") from None
    click.echo(f"wrote {output}", err=True)


@click.command()
def examples() -> None:
    """List the built-in examples: `chainrule explain NAME` works on any of them."""
    import tomllib

    from chainrule.io.netfile import example_names, example_path

    for name in example_names():
        title = tomllib.loads(example_path(f"{name}.toml").read_text(encoding="utf-8")).get("title", "")
        click.echo(f"{name:<20} {title}")
