"""Any network file, dense or shaped: `chainrule.load` and `chainrule.save`.

A file whose layers are all dense (and whose inputs are names or a count) is a `Network`, read by
`netfile` exactly as before; a file with an input shape or a layer of another type (conv2d,
maxpool2d, avgpool2d, flatten, batchnorm, residual, rnn) is an `engine.model.Model`, read by
`modelfile`. Commands that take both call `load` here and dispatch on the type.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from chainrule.engine.model import Model
from chainrule.engine.network import Network
from chainrule.io import modelfile, modelwrite, netfile, netnpz


def from_document(
    data: Mapping[str, Any], source: str = "<network>", *, require_examples: bool = True
) -> Network | Model:
    """A parsed network document as a Network (dense layers only) or a Model."""
    if modelfile.is_shaped(data):
        return modelfile.from_dict(data, source=source, require_examples=require_examples)
    return netfile.from_dict(data, source=source, require_examples=require_examples)


def load(path: str | os.PathLike[str] | None = None, *, require_examples: bool = True) -> Network | Model:
    """Load and validate any network file (TOML, JSON; .npz for dense ones); None loads the built-in
    reference example, a bare name (``conv``) a built-in one."""
    found, source = netfile.located(path)
    if netnpz.is_npz(found):
        return netfile.load(found, require_examples=require_examples)
    return from_document(netfile.read_document(found), source=source, require_examples=require_examples)


def save(net: Network | Model, path: str | os.PathLike[str]) -> None:
    """Save a network atomically: a Model as TOML or JSON, a Network as `netfile.save` does."""
    if isinstance(net, Model):
        modelwrite.save(net, path)
    else:
        netfile.save(net, path)
