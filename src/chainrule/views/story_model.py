"""The story of one step of a shaped network: the same blocks for the terminal, Markdown, LaTeX and HTML.

Per layer the forward numbers (a convolution as the sum over its window for one output position,
worked in full, and every output in a grid; pooling's windows; batchnorm's μ, σ² and x̂), the
loss, then the backward pass layer by layer (story_model_backward.py) and the update of every
tensor. The record (record.model_step) holds every number; this module only writes it.
"""

from __future__ import annotations

from chainrule.record.model_step import ModelStepRecord
from chainrule.record.model_types import OpDetail, OpInfo
from chainrule.views.doc import Block, Equations, Figure, Heading, Inline, Math, Para, Table
from chainrule.views.mathtree import Add, Frac, Func, Mul, Rel, Seq, Sqrt, Sym, Word
from chainrule.views.numbers import fmt
from chainrule.views.story_model_parts import ModelWriter, value_shape

KIND_WORDS = {
    "conv2d": "convolution",
    "maxpool2d": "max pooling",
    "avgpool2d": "average pooling",
    "flatten": "flatten",
    "batchnorm": "batch normalisation",
    "residual": "residual block",
    "rnn": "recurrent layer",
    "dense": "fully connected",
}


def _size(value: object) -> str:
    """A size as the paper writes it: 3 × 3, or 1 where both axes agree on a stride or padding."""
    if isinstance(value, tuple) and len(value) == 2:
        return str(value[0]) if value[0] == value[1] and value[0] in (0, 1) else f"{value[0]} × {value[1]}"
    return str(value)


def shape_words(shape: tuple[int, ...]) -> str:
    return " × ".join(str(s) for s in shape)


def model_story(records: list[ModelStepRecord], digits: int = 4, only: str | None = None) -> list[Block]:
    """Every step's blocks, the title once; with `only`, the update of that tensor alone."""
    from chainrule.views.story_model_backward import backward_blocks, update_blocks

    first = records[0]
    blocks: list[Block] = [Heading(1, f"{first.title}: one training step, worked")]
    blocks += _architecture(first)
    for i, record in enumerate(records):
        w = ModelWriter(record, digits, step=i + 1)
        if len(records) > 1:
            blocks.append(Heading(2, f"Step {i + 1}"))
        examples = ", ".join(str(e + 1) for e in record.examples)
        blocks.append(Para((f"The update on example{'s' if len(record.examples) > 1 else ''} {examples}.",)))
        step = [*forward_blocks(w), *_loss(w), *backward_blocks(w), *update_blocks(w, only)]
        if len(records) == 1:  # no "Step 1" heading above them: the step's parts one level up
            step = [Heading(b.level - 1, b.text) if isinstance(b, Heading) else b for b in step]
        blocks += step
    return blocks


def _architecture(r: ModelStepRecord) -> list[Block]:
    layers = tuple(
        (
            (o.name,),
            (KIND_WORDS.get(o.kind, o.kind),),
            (f"{shape_words(o.in_shape)} → {shape_words(o.out_shape)}",),
            (o.activation,),
        )
        for o in r.ops
    )
    tensors = tuple(
        ((name,), (o.name,), (shape_words(o.tensor_shapes.get(name, ())),))
        for o in r.ops
        for name in o.tensors.values()
    )
    blocks: list[Block] = [
        Heading(2, "The network"),
        Para(
            (
                f"Input of shape {shape_words(r.input_shape)}; loss {r.loss} ({r.reduction} over the batch); "
                f"learning rate η = {fmt(r.learning_rate, 15)}; optimizer {r.optimizer.name}.",
            )
        ),
        Table(("layer", "type", "input → output", "activation"), layers, (False,) * 4),
    ]
    if tensors:
        blocks += [Para(("Its tensors:",)), Table(("tensor", "layer", "shape"), tensors, (False,) * 3)]
    return blocks


def forward_blocks(w: ModelWriter) -> list[Block]:
    r = w.r
    blocks: list[Block] = [Heading(3, "The forward pass")]
    for k in range(len(r.examples)):
        s = r.suffix(k)
        label = f" (example {r.examples[k] + 1})" if s else ""
        blocks.append(Para((f"The input {r.input_name}{label}:",)))
        blocks += w.grid(r.input_name, r.input_shape, s)
    for info, detail in zip(r.ops, r.details, strict=True):
        blocks += _layer(w, info, detail)
    return blocks


def _layer(w: ModelWriter, info: OpInfo, detail: OpDetail, inside: str = "") -> list[Block]:
    settings = ", ".join(
        f"{k} {_size(v)}" for k, v in info.settings.items() if k in ("kernel", "stride", "padding") and v is not None
    )
    title = f"Layer {info.name}: {KIND_WORDS.get(info.kind, info.kind)}" + (f" ({settings})" if settings else "")
    blocks: list[Block] = [Heading(5 if inside else 4, title + (f", inside {inside}" if inside else ""))]
    if detail.forward and info.kind == "dense":
        blocks.append(Para(("Each output is the weighted sum of the layer's inputs plus its bias; the first:",)))
        blocks.append(w.sum_eq(detail.forward[0]))
    elif detail.forward:
        first = max(detail.forward, key=lambda f: len(f.terms))  # the first window the kernel covers in full
        blocks.append(
            Para(
                (
                    "Each output is the sum over its window of kernel × input, plus the bias; "
                    "worked for the first output position whose window lies inside the input:",
                )
            )
        )
        kernel = info.tensor_shapes.get(info.tensors.get("weight", ""), (1,))
        blocks.append(w.sum_eq(first, per_row=kernel[-1]))
        blocks += _figure(w, info, detail)
    elif detail.windows:
        win = detail.windows[0]
        if info.kind == "maxpool2d":
            words = "Each output is the largest value in its window (the first of equal ones wins, as PyTorch does):"
            rhs = Rel(("=", Func("max", Seq(tuple(w.sn(v) for v in win.values))), w.rel(win.value), w.num(win.value)))
        else:
            words = "Each output is the mean of its window:"
            rhs = Rel(("=", Func("mean", Seq(tuple(w.sn(v) for v in win.values))), w.rel(win.value), w.num(win.value)))
        blocks += [Para((words,)), Equations(((w.name(win.name), rhs),))]
        if win.winner >= 0:
            blocks.append(Para(("The winner is ", w_math(w, win.inputs[win.winner]), ".")))
        blocks += _figure(w, info, detail)
    elif info.kind == "batchnorm":
        blocks += _batchnorm(w, info, detail)
    elif info.kind == "flatten":
        blocks.append(
            Para(("The feature maps are laid out as one vector, channel by channel, row by row (PyTorch's order).",))
        )
    elif info.kind == "rnn":
        blocks.append(
            Para(
                (
                    "Step by step, t = 1 … T: z_t = W_x x_t + b_x + W_h h_(t−1) + b_h and h_t = a_t = f(z_t), "
                    "from h_0 (zeros unless the file gives it); "
                    + ("every state is the output." if len(info.out_shape) == 2 else "the last state is the output."),
                )
            )
        )
    elif info.kind == "residual":
        blocks += _residual(w, info, detail)
    for k in range(len(w.r.examples)):
        s = w.r.suffix(k)
        label = f" (example {w.r.examples[k] + 1})" if s else ""
        blocks.append(Para(("Every output ", Math(w.name(f"z_{info.name}")), f"{label}:")))
        blocks += w.grid(f"z_{info.name}", value_shape(info), s)
        blocks += _other_side(w, info, s)
        if info.activation != "identity":
            blocks.append(
                Para((f"After the activation ({info.activation}), ", Math(w.name(f"a_{info.name}")), f"{label}:"))
            )
            blocks += w.grid(f"a_{info.name}", value_shape(info), s)
    return blocks


def _other_side(w: ModelWriter, info: OpInfo, s: str) -> list[Block]:
    """One line where float64 training keeps a rounding error across a kink from a sum that is 0 on
    paper (record.model_step.paper_forward)."""
    found = []
    for name, z in w.r.other_side.items():
        element, sep, k = name.partition("#")
        if element.startswith(f"z_{info.name}[") and sep + k == s:
            found.append((element, z))
    if not found:
        return []
    words: list[Inline] = ["Training in float64 gets "]
    for i, (element, _) in enumerate(found):
        words += [", " if 0 < i < len(found) - 1 else " and " if i else "", Math(w.name(element + s))]
    sides = {"above" if z > 0 else "below" for _, z in found}
    side = sides.pop() if len(sides) == 1 else "above or below"
    words.append(
        f" a rounding error {side} 0, across the kink, and takes the slope on that side; this step works "
        + ("each sum" if len(found) > 1 else "the sum")
        + " as the paper does: 0."
    )
    return [Para(tuple(words))]


def _residual(w: ModelWriter, info: OpInfo, detail: OpDetail) -> list[Block]:
    """The block's inner layers in order, each explained as a layer, then z = (their output) + x."""
    inside = ", ".join(f"{name} ({KIND_WORDS.get(kind, kind)})" for name, kind, _ in info.inner)
    blocks: list[Block] = [
        Para(
            (
                f"Inside the block, in order: {inside or 'no layers'}. The block's z is their output plus the "
                "block's own input (the skip).",
            )
        )
    ]
    for inner_info, inner_detail in detail.inner:
        blocks += _layer(w, inner_info, inner_detail, inside=info.name)
    return blocks


def _figure(w: ModelWriter, info: OpInfo, detail: OpDetail) -> list[Block]:
    """The worked window drawn on the feature maps (a file name of chainrule's own, never the layer's)."""
    from chainrule.views.model_svg import window_figure_svg

    svg = window_figure_svg(w.r, info, detail, w.d)
    if not svg:
        return []
    w.figures += 1
    caption = "The worked window (outlined) on the feature maps" + (
        ", the winner in bold." if info.kind == "maxpool2d" else "."
    )
    return [Figure(f"window{w.figures}-step{w.step}", svg, caption)]


def w_math(w: ModelWriter, name: str) -> Math:
    return Math(w.name(name))


def _batchnorm(w: ModelWriter, info: OpInfo, detail: OpDetail) -> list[Block]:
    blocks: list[Block] = [
        Para(
            (
                "Over the batch, per channel: the mean μ and the (biased) variance σ²; each "
                "input normalised, x̂ = (x − μ) / √(σ² + ε), then z = γ x̂ + β.",
            )
        )
    ]
    rows = []
    for c in range(info.in_shape[0]):
        rows.append(
            (
                (str(c + 1),),
                w.cell(detail.stats[f"mu_{info.name}[{c + 1}]"]),
                w.cell(detail.stats[f"var_{info.name}[{c + 1}]"]),
            )
        )
    blocks.append(Table(("channel", "μ", "σ²"), tuple(rows), (False, True, True)))
    return blocks + _normalised(w, info)


def _normalised(w: ModelWriter, info: OpInfo) -> list[Block]:
    """x̂ and z of the first element worked with their numbers."""
    ix = "[" + ",".join("1" for _ in info.in_shape) + "]"
    s = w.r.suffix(0)
    x, xhat, z = (
        info.input_element(tuple(0 for _ in info.in_shape)) + s,
        f"xhat_{info.name}{ix}{s}",
        f"z_{info.name}{ix}{s}",
    )
    mu, var = f"mu_{info.name}[1]", f"var_{info.name}[1]"
    gamma, beta = (f"{info.tensors.get(role, '')}[1]" for role in ("weight", "bias"))
    v, eps = w.v, float(info.settings.get("eps", 1e-5))
    if not all(n in v for n in (x, xhat, z, mu, var, gamma, beta)):
        return []
    frac = Frac(Add((w.name(x), w.name(mu)), ("", "-")), Sqrt(Add((w.name(var), Sym("ε")), ("", "+"))))
    nums = Frac(Add((w.sn(v[x]), w.sn(v[mu])), ("", "-")), Sqrt(Add((w.sn(v[var]), w.num(eps)), ("", "+"))))
    affine = Add((Mul((w.name(gamma), w.name(xhat))), w.name(beta)), ("", "+"))
    affine_nums = Add((Mul((w.sn(v[gamma]), w.sn(v[xhat]))), w.sn(v[beta])), ("", "+"))
    return [
        Para((f"The first element (ε = {fmt(eps, 15)}):",)),
        Equations(
            (
                (w.name(xhat), Rel(("=", frac, "=", nums, w.rel(v[xhat]), w.num(v[xhat])))),
                (w.name(z), Rel(("=", affine, "=", affine_nums, w.rel(v[z]), w.num(v[z])))),
            )
        ),
    ]


def _loss(w: ModelWriter) -> list[Block]:
    r = w.r
    last = r.ops[-1]
    blocks: list[Block] = [Heading(3, "The loss")]
    rows = []
    for k in range(len(r.examples)):
        s = r.suffix(k)
        for j in range(last.out_shape[-1]):
            out, target = f"a_{last.name}[{j + 1}]{s}", f"y_{last.name}[{j + 1}]{s}"
            rows.append(
                (
                    (Math(w.name(out)),),
                    w.cell(r.values.get(out, float("nan"))),
                    w.cell(r.values.get(target, float("nan"))),
                )
            )
    blocks.append(Table(("output", "value", "target"), tuple(rows), (False, True, True)))
    loss = r.values["loss"]
    blocks.append(Equations(((Word("L"), Rel((w.rel(loss), w.num(loss)))),)))
    blocks.append(
        Para(
            (
                f"({r.loss}, {r.reduction} over the {len(r.examples)} example"
                f"{'s' if len(r.examples) > 1 else ''} of the batch).",
            )
        )
    )
    return blocks
