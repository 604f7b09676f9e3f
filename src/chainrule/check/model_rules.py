"""How each number of a shaped network's update is computed, in words: the checker's "correct:" line
for the first wrong number (the rule a person applies, the exact value beside it)."""

from __future__ import annotations

import re

from chainrule.engine.model import Model
from chainrule.record.names import without_example

# An op's map z, by the op's kind.
FORWARD = {
    "conv2d": "the sum over its window of kernel × input, plus its channel's bias",
    "maxpool2d": "the largest input of its window",
    "avgpool2d": "the mean of its window",
    "flatten": "the input's element in reading order (channel, row, column)",
    "dense": "Σ w·a over its inputs, plus its bias",
    "batchnorm": "γ·(x − μ)/√(σ² + ε) + β, with μ and σ² of its channel over the batch",
    "residual": "the block's output plus the block's input (the skip connection)",
    "rnn": "W_x·x_t + W_h·h_(t−1) + b",
}
# ∂L/∂ of an op's input, by the kind of op that reads it.
INPUT_GRADIENT = {
    "conv2d": "the full convolution of ∂L/∂z of {op} with its kernel turned 180° (cropped by the padding)",
    "maxpool2d": "∂L/∂z of {op} routed to the largest input of each window (0 for the others)",
    "avgpool2d": "∂L/∂z of {op} shared equally among each window's inputs",
    "flatten": "∂L/∂ of {op}'s output put back in the map's shape",
    "dense": "Σ over {op}'s neurons of w·∂L/∂z",
    "batchnorm": "γ/√(σ² + ε) · (∂L/∂x̂ − mean(∂L/∂x̂) − x̂·mean(∂L/∂x̂·x̂)): the direct path and the paths "
    "through μ and σ² of {op}",
    "residual": "∂L/∂z of {op} through its block plus ∂L/∂z itself through the skip connection",
    "rnn": "Σ over time of W_x·∂L/∂z_t of {op}",
}
# ∂L/∂ of a learnt tensor, by the op's kind.
PARAMETER_GRADIENT = {
    "conv2d": "the correlation of {op}'s input with ∂L/∂z of {op} (for a bias: the sum of ∂L/∂z over its channel)",
    "dense": "Σ over the examples of ∂L/∂z · the input it multiplies",
    "batchnorm": "for γ: Σ ∂L/∂z · x̂; for β: Σ ∂L/∂z, over the batch and the channel's positions",
    "residual": "through the block, as for a dense layer",
    "rnn": "backpropagation through time: the sum over every time step t of ∂L/∂z_t times what it multiplies",
}


def rule(model: Model, name: str) -> str:
    """The rule that computes ``name`` (a value name of `model_values`), in a few words."""
    bare = without_example(name)
    base = re.sub(r"\[.*$", "", bare) + ("_new" if bare.endswith("_new") else "")
    ops = {op.name: i for i, op in enumerate(model.ops)}
    tensors = {t: op for op in model.ops for t in op.tensor_names().values()}
    if base == "loss":
        return f"the {model.loss.name.replace('_', ' ')} of the output"
    if base.endswith("_new") and base[: -len("_new")] in tensors:
        return "the parameter minus the learning rate times its gradient (the file's optimizer)"
    if base in tensors or base == model.input_name or base.startswith("y_") or base.startswith("h0_"):
        return "given"
    if bare.startswith("da_") and "/dz_" in bare:
        return "the slope of the activation at z"
    prefix, _, subject = base.partition("_")
    if base.startswith("dL/d") and base[len("dL/d") :] in tensors:
        op = tensors[base[len("dL/d") :]]
        return PARAMETER_GRADIENT.get(op.kind, "").format(op=op.name)
    if prefix in ("z", "a") and subject in ops:
        op = model.ops[ops[subject]]
        return FORWARD.get(op.kind, "") if prefix == "z" else f"{op.activation.name}(z_{op.name})"
    if prefix == "dL/dz" and subject in ops:
        return f"∂L/∂a_{subject} times the slope of {model.ops[ops[subject]].activation.name} at z"
    reader = 0 if base == f"dL/d{model.input_name}" else (ops.get(subject, -2) + 1 if prefix == "dL/da" else -1)
    if 0 <= reader < len(model.ops):
        op = model.ops[reader]
        return INPUT_GRADIENT.get(op.kind, "").format(op=op.name)
    if prefix == "dL/da":
        return "∂L/∂ŷ of the loss (the last op's output)"
    return ""
