"""The backward pass and the update of a shaped network's step, layer by layer, each rule named.

From the output down: ∂L/∂z from ∂L/∂a through the activation; a convolution's kernel gradient
as the correlation of its input with ∂L/∂z and its input's gradient as the full convolution of
∂L/∂z with the flipped kernel; pooling's routing (max) or sharing (avg); batchnorm's three paths;
the residual's two gradients added. Then every tensor's update.
"""

from __future__ import annotations

from chainrule.record.model_types import OpDetail, OpInfo
from chainrule.views.doc import Block, Equations, Heading, Math, Para, Table
from chainrule.views.mathtree import Add, Frac, Mul, Node, Num, Paren, Rel, Word
from chainrule.views.numbers import fmt
from chainrule.views.story_model_parts import ModelWriter, value_shape


def backward_blocks(w: ModelWriter) -> list[Block]:
    r = w.r
    blocks: list[Block] = [Heading(3, "The backward pass")]
    last = len(r.ops) - 1
    for i in range(last, -1, -1):
        blocks += _layer_back(w, r.ops[i], r.details[i], fused=r.fused and i == last)
    return blocks


def _layer_back(
    w: ModelWriter, info: OpInfo, detail: OpDetail, fused: bool = False, inside: str = "", gradient: bool = True
) -> list[Block]:
    """One layer's chain: through its activation, its own rule, then its input's gradient; a residual
    block's inner layers after its two paths, last first (the first one's input is the block's, whose
    whole gradient, inner path and skip added, the block shows)."""
    title = f"Layer {info.name}" + (f", inside {inside}" if inside else "")
    blocks: list[Block] = [Heading(5 if inside else 4, title)]
    blocks += _through_activation(w, info, fused=fused)
    blocks += _own_rule(w, info, detail)
    for k, (inner_info, inner_detail) in reversed(list(enumerate(detail.inner))):
        if k == 0:  # its input is the block's: what it works is the inner path's part
            w.via = {name: "the inner path" for name, _, _ in detail.paths}
        blocks += _layer_back(w, inner_info, inner_detail, inside=info.name, gradient=k > 0)
        w.via = {}
    r = w.r
    for k in range(len(r.examples) if gradient else 0):
        s = r.suffix(k)
        label = f" (example {r.examples[k] + 1})" if s else ""
        blocks.append(Para(("Every ", Math(w.name(f"dL/d{info.input_name}")), f"{label}:")))
        blocks += w.grid(f"dL/d{info.input_name}", info.in_shape, s, info.input_lead)
    return blocks


def _through_activation(w: ModelWriter, info: OpInfo, fused: bool) -> list[Block]:
    shape = value_shape(info)
    first = f"[{','.join('1' for _ in shape)}]{w.r.suffix(0)}"
    d_z, d_a = f"dL/dz_{info.name}{first}", f"dL/da_{info.name}{first}"
    if fused:
        blocks: list[Block] = _fused(w, info, first)
    elif info.activation == "identity":
        blocks = [Para(("No activation: ∂L/∂z = ∂L/∂a.",))]
    else:
        slope = f"da_{info.name}{first[: first.index(']') + 1]}/dz_{info.name}{first}"
        if slope in w.v:
            dz = w.v[d_z]
            rhs = Rel(
                (
                    "=",
                    Mul((w.name(d_a), Word("f′(z)"))),
                    "=",
                    Mul((w.sn(w.v[d_a]), w.sn(w.v[slope]))),
                    w.rel(dz),
                    w.num(dz),
                )
            )
            blocks = [
                Para((f"Through the activation ({info.activation}), element by element; the first:",)),
                Equations(((w.name(d_z), rhs),)),
            ]
        else:
            blocks = [Para((f"Through the activation ({info.activation}):",))]
    for k in range(len(w.r.examples)):
        s = w.r.suffix(k)
        label = f" (example {w.r.examples[k] + 1})" if s else ""
        blocks.append(Para(("Every ", Math(w.name(f"dL/dz_{info.name}")), f"{label}:")))
        blocks += w.grid(f"dL/dz_{info.name}", shape, s)
    return blocks


def _fused(w: ModelWriter, info: OpInfo, first: str) -> list[Block]:
    """The loss with its paired activation, differentiated from z: ∂L/∂z = (a − y), times 1/N for a mean."""
    d_z, a, y = f"dL/dz_{info.name}{first}", f"a_{info.name}{first}", f"y_{info.name}{first}"
    words = (
        f"The loss ({w.r.loss}) and the output's activation ({info.activation}) are differentiated together, "
        "from z: their product simplifies to ∂L/∂z = a − y"
        + (f", times 1/N for the mean over the N = {len(w.r.examples)} examples" if w.r.mean_factor != 1 else "")
        + "; the first:"
    )
    if y not in w.v or a not in w.v:
        return [Para((words,))]
    diff: Node = Add((w.name(a), w.name(y)), ("", "-"))
    nums: Node = Add((w.sn(w.v[a]), w.sn(w.v[y])), ("", "-"))
    if w.r.mean_factor != 1:
        diff = Mul((Paren(diff), Frac(Num(1, "1"), Word("N"))))
        nums = Mul((Paren(nums), Frac(Num(1, "1"), w.num(float(len(w.r.examples))))))
    value = w.v[d_z]
    return [Para((words,)), Equations(((w.name(d_z), Rel(("=", diff, "=", nums, w.rel(value), w.num(value)))),))]


def _own_rule(w: ModelWriter, info: OpInfo, detail: OpDetail) -> list[Block]:
    if info.kind == "conv2d" and detail.weight_grads:
        return _conv(w, info, detail)
    if info.kind in ("maxpool2d", "avgpool2d") and detail.input_grads:
        words = (
            "Max pooling routes each ∂L/∂z to its window's winner; every other input gets 0:"
            if info.kind == "maxpool2d"
            else "Average pooling shares each ∂L/∂z equally among the k inputs of its window (1/k each):"
        )
        worked = next((g for g in detail.input_grads if g.terms), detail.input_grads[0])
        return [Para((words,)), w.sum_eq(worked)]
    if info.kind == "batchnorm" and detail.paths:
        return _three_paths(w, detail)
    if info.kind == "residual" and detail.paths:
        name, (inner, skip), total = detail.paths[0]
        rhs = Rel(
            (
                "=",
                Add((Word("through the block"), Word("through the skip")), ("", "+")),
                "=",
                Add((w.sn(inner), w.sn(skip)), ("", "+")),
                w.rel(total),
                w.num(total),
            )
        )
        return [
            Para(("The input's gradient is the sum of the two ways it reaches the output:",)),
            Equations(((w.name(name), rhs),)),
        ]
    if info.kind == "rnn" and detail.weight_grads:
        return _through_time(w, detail)
    if info.kind == "flatten":
        return [Para(("Flatten only moves values: each gradient goes back to the element it came from.",))]
    if info.kind == "dense" and detail.weight_grads:
        blocks: list[Block] = [
            Para(
                (
                    "Each weight's gradient is ∂L/∂z of the neuron it feeds times the input it carries, summed over "
                    "the batch; the first:",
                )
            ),
            w.sum_eq(detail.weight_grads[0]),
        ]
        if detail.input_grads:
            blocks += [
                Para(
                    (
                        "Each input's gradient gathers ∂L/∂z of every neuron it feeds, times the weight between; the first:",
                    )
                ),
                w.sum_eq(detail.input_grads[0]),
            ]
        return blocks
    return []


def _conv(w: ModelWriter, info: OpInfo, detail: OpDetail) -> list[Block]:
    blocks: list[Block] = [
        Para(
            (
                "The kernel's gradient is the correlation of the layer's input with ∂L/∂z: each kernel element "
                "sums ∂L/∂z times the input it met, over every output position; worked for the first:",
            )
        ),
        w.sum_eq(detail.weight_grads[0]),
    ]
    worked = next(
        (g for g in detail.input_grads if len(g.terms) > 1), detail.input_grads[0] if detail.input_grads else None
    )
    if worked is not None:
        blocks += [
            Para(
                (
                    "The input's gradient is the full convolution of ∂L/∂z with the flipped kernel: each input "
                    "element sums ∂L/∂z times the kernel element that joined them; worked for one:",
                )
            ),
            w.sum_eq(worked),
        ]
    return blocks


def _through_time(w: ModelWriter, detail: OpDetail) -> list[Block]:
    """BPTT: ∂L/∂h_t gathers its own output's gradient and what step t+1 sends back; a shared weight's
    gradient is one term a step, summed."""
    steps = len(next(iter(detail.steps.values()))) if detail.steps else 0
    rows = tuple(
        ((Math(w.name(name)),), *(w.cell(t) for t in terms), w.cell(sum(terms))) for name, terms in detail.steps.items()
    )
    return [
        Para(
            (
                "Backpropagation through time: the gradient reaching h_t is its own output's plus what step t+1 "
                "sends back through W_h (∂L/∂a above holds their sum). W_x, W_h and the biases are shared by every "
                "step, so each gradient is the sum of one term a step; worked for the first element of W_h:",
            )
        ),
        w.sum_eq(detail.weight_grads[0]),
        Para(("Each gradient's term at every step, and their sum:",)),
        Table(
            ("gradient", *(f"t = {t + 1}" for t in range(steps)), "sum"),
            rows,
            (False, *([True] * (steps + 1))),
        ),
    ]


def _three_paths(w: ModelWriter, detail: OpDetail) -> list[Block]:
    name, (direct, via_mu, via_var), total = detail.paths[0]
    rhs = Rel(
        (
            "=",
            Add((Word("direct"), Word("through μ"), Word("through σ²")), ("", "+", "+")),
            "=",
            Add((w.sn(direct), w.sn(via_mu), w.sn(via_var)), ("", "+", "+")),
            w.rel(total),
            w.num(total),
        )
    )
    stats = [(k, v) for k, v in detail.stats.items() if k.startswith(("dL/dmu", "dL/dvar"))]
    return [
        Para(
            (
                "Batch normalisation's input gradient has three paths: directly through x̂ (∂L/∂x̂ / √(σ² + ε)), "
                "through the mean μ and through the variance σ² (every input moves both); the first:",
            )
        ),
        Equations(((w.lhs(name), rhs),)),
        Equations(tuple((w.name(k), Rel((w.rel(v), w.num(v)))) for k, v in stats)),
    ]


def update_blocks(w: ModelWriter, only: str | None = None) -> list[Block]:
    r = w.r
    sgd = r.optimizer.name == "sgd"
    words = (
        f"Each tensor moves against its gradient: θ_new = θ − η · ∂L/∂θ, with η = {fmt(r.learning_rate, 15)}."
        if sgd
        else f"Each tensor is updated by {r.optimizer.name} (its constants from the file)."
    )
    blocks: list[Block] = [Heading(3, "The update"), Para((words,))]
    for u in r.updates:
        if only is not None and u.name != only:
            continue
        if u.frozen:
            blocks.append(Para((f"{u.name} is frozen: it keeps its values.",)))
        rows = []
        for i, (old, g, new) in enumerate(zip(u.old, u.gradient, u.new, strict=True)):
            element = _element(u.name, u.shape, i)
            rows.append(((Math(w.name(element)),), w.cell(old), w.cell(g), w.cell(new)))
        if sgd and u.old and not u.frozen:
            element = _element(u.name, u.shape, 0)
            rhs = Rel(
                (
                    "=",
                    Add((w.sn(u.old[0]), Mul((w.num(r.learning_rate), w.sn(u.gradient[0])))), ("", "-")),
                    w.rel(u.new[0]),
                    w.num(u.new[0]),
                )
            )
            blocks.append(Equations(((w.name(element + "_new"), rhs),)))
        blocks.append(Table(("element", "value", "gradient", "new value"), tuple(rows), (False, True, True, True)))
    return blocks


def _element(name: str, shape: tuple[int, ...], flat: int) -> str:
    index, rest = [], flat
    for size in reversed(shape):
        index.append(rest % size + 1)
        rest //= size
    return f"{name}[{','.join(str(i) for i in reversed(index))}]"
