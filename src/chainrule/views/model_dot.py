"""A shaped network's step as a computational graph in DOT (`chainrule explain conv --format dot`).

One node a layer (its map and activation, its output's shape), one a tensor it learns (its shape,
the first element's value, gradient and new value), the input, the targets and the loss; edges run
forward, each labelled with what flows along it and the gradient that flows back. A residual
block's inner layers end in its sum node, which the skip edge (dashed) also enters. Names are data,
written through `dot.quoted`.
"""

from __future__ import annotations

from chainrule.record.model_step import ModelStepRecord
from chainrule.record.model_types import OpInfo
from chainrule.views.dot import quoted
from chainrule.views.numbers import DEFAULT_DIGITS, fmt
from chainrule.views.story_model import KIND_WORDS, shape_words

_MAPS = {
    "conv2d": "z = W ⋆ x + b (each window's sum)",
    "maxpool2d": "z = the largest in each window",
    "avgpool2d": "z = the mean of each window",
    "flatten": "z = x as one vector",
    "batchnorm": "z = γ (x − μ)/√(σ² + ε) + β",
    "residual": "z = inner(x) + x",
    "rnn": "z_t = W_x x_t + b_x + W_h h_(t−1) + b_h",
    "dense": "z = W x + b",
}


def render_model_dot(records: list[ModelStepRecord], digits: int = DEFAULT_DIGITS) -> str:
    """One digraph a step."""
    return "".join(_graph(r, i, digits) for i, r in enumerate(records))


def _graph(r: ModelStepRecord, index: int, digits: int) -> str:
    out = ["digraph step {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=11];']
    out.append(f"  label={quoted(f'{r.title}: step {index + 1}')}; labelloc=t;")
    out.append(f"  {quoted('in')} [label={quoted(r.input_name, shape_words(r.input_shape))}, shape=plaintext];")
    before = "in"  # node ids are plain text, quoted where written
    for i, info in enumerate(r.ops):
        node = f"op{i}"
        if info.kind == "residual":
            out += _residual(info, node, before)
        else:
            out.append(f"  {quoted(node)} [label={quoted(*_op_lines(info))}, shape=ellipse];")
            out.append(f"  {quoted(before)} -> {quoted(node)} [label={quoted(*_flow(info))}];")
        out += _tensors(r, info, node, digits)
        before = node
    last = r.ops[-1] if r.ops else None
    targets = f"y_{last.name}" if last else "y"
    out.append(
        f"  {quoted('y')} [label={quoted(targets, shape_words(last.out_shape) if last else '')}, shape=plaintext];"
    )
    loss = r.values.get("loss", float("nan"))
    out.append(f"  {quoted('L')} [label={quoted(f'L = {r.loss}', f'value {fmt(loss, digits)}')}, shape=doubleoctagon];")
    if last is not None:
        flow = quoted(f"a_{last.name}", f"∂L/∂a_{last.name} back")
        out.append(f"  {quoted(before)} -> {quoted('L')} [label={flow}];")
    out.append(f"  {quoted('y')} -> {quoted('L')};")
    out.append("}")
    return "\n".join(out) + "\n"


def _op_lines(info: OpInfo) -> list[str]:
    head = f"{info.name}: {KIND_WORDS.get(info.kind, info.kind)}"
    lines = [head, _MAPS.get(info.kind, "")]
    if info.activation != "identity":
        lines.append(f"a = {info.activation}(z)")
    lines.append(f"out {shape_words(info.out_shape)}")
    return [line for line in lines if line]


def _flow(info: OpInfo) -> list[str]:
    """What an edge into `info` carries forward, and the gradient it carries back."""
    return [f"{info.input_name} ({shape_words(info.in_shape)})", f"∂L/∂{info.input_name} back"]


def _residual(info: OpInfo, node: str, before: str) -> list[str]:
    """The inner layers in a row from the block's input to its sum; the skip from the input to the sum."""
    out = []
    prev = before
    for k, (name, kind, shape) in enumerate(info.inner):
        inner = f"{node}.{k}"
        label = quoted(f"{name}: {KIND_WORDS.get(kind, kind)}", f"inside {info.name}", f"out {shape_words(shape)}")
        out.append(f"  {quoted(inner)} [label={label}, shape=ellipse];")
        out.append(f"  {quoted(prev)} -> {quoted(inner)};")
        prev = inner
    out.append(f"  {quoted(node)} [label={quoted(*_op_lines(info))}, shape=ellipse];")
    out.append(f"  {quoted(prev)} -> {quoted(node)} [label={quoted('inner path')}];")
    skip = quoted("skip: the input added to z", "∂L/∂z added to ∂L/∂x back")
    out.append(f"  {quoted(before)} -> {quoted(node)} [label={skip}, style=dashed];")
    return out


def _tensors(r: ModelStepRecord, info: OpInfo, node: str, digits: int) -> list[str]:
    out = []
    for name in info.tensors.values():
        update = next((u for u in r.updates if u.name == name), None)
        lines = [f"{name} ({shape_words(info.tensor_shapes.get(name, ()))})"]
        if update is not None and update.old:
            first = f"{name}[{','.join('1' for _ in update.shape)}]"
            lines += [
                f"{first} = {fmt(update.old[0], digits)}",
                f"∂L/∂{first} = {fmt(update.gradient[0], digits)}",
                f"{first}_new = {fmt(update.new[0], digits)}",
            ]
        tensor = f"{node}:{name}"
        out.append(f"  {quoted(tensor)} [label={quoted(*lines)}, shape=box];")
        out.append(f"  {quoted(tensor)} -> {quoted(node)};")
    return out
