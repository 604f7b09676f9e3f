"""A step's gradients in the form a reader asks for: every path from the loss, or the δs worked once.

`explain_steps` chooses the form by the network's size (record.chains.MAX_PATHS); `--form paths`
or `--form delta` asks for one on any network. The numbers are the record's; only the chains that
tell how they combine are built again, from the same network state each step started from.
"""

from __future__ import annotations

import copy

from chainrule.engine.network import Network
from chainrule.record.chains import chains_of
from chainrule.record.step import StepRecord, advanced, worked


def in_form(net: Network, records: list[StepRecord], example: int, form: str) -> list[StepRecord]:
    """`records` (from explain_steps(net, example, …)) with every gradient's chain in `form` ("paths" or "delta")."""
    updates = len(net.batches())
    net = advanced(net, example)
    out = []
    for i, record in enumerate(records):
        idx = net.batches()[(example + i) % updates]
        # the forward pass and the update the step explained (exact where the paper is), not float64's
        _, fwd, _, after = worked(net, net.x[idx], net.y[idx])
        again = copy.copy(record)
        again.chains = chains_of(net, record.values, len(record.examples), record.fused, fwd, form)
        out.append(again)
        net = after
    return out
