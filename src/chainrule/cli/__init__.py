"""The command line: one thin module per command over library calls; `main` is the entry point."""

from chainrule.cli.root import main

__all__ = ["main"]
