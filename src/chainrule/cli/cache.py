"""`chainrule cache info|clear`: the folder of loops compiled for network shapes (train.compiled.cache)."""

from __future__ import annotations

import click

from chainrule.views.escape import terminal


@click.group()
def cache() -> None:
    """The compiled training loops kept between runs (one per network shape met).

    They live in $CHAINRULE_CACHE_DIR/kernels (default ~/.cache/chainrule/kernels), a folder only
    you may write: chainrule runs the code it finds there. Never share it between users.
    """


@cache.command()
def info() -> None:
    """Where the loops are kept, how many, and how much room they take."""
    from chainrule.train.compiled import cache as store

    where = store.configured() / "kernels"
    why = store.refusal(store.configured()) or (store.refusal(where) if where.exists() else None)
    found = store.entries(where) if where.is_dir() and why is None else []
    size = sum(e.size for e in found)
    click.echo(f"folder: {terminal(str(where))}")
    if why is not None:
        click.echo(f"refused: the folder {why}; each run compiles into a private temporary folder instead")
    click.echo(f"loops: {len(found)}, {size / 2**20:.1f} MB of at most {store.MAX_BYTES / 2**20:.0f} MB")


@cache.command()
def clear() -> None:
    """Remove every compiled loop (each shape is compiled again, once, when next trained)."""
    from chainrule.train.compiled import cache as store

    where, count = store.clear()
    click.echo(f"removed {count} compiled loop{'s' if count != 1 else ''} from {terminal(str(where))}")
