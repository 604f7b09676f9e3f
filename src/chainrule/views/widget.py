"""A step-through widget for Jupyter (anywidget): the worked step part by part, Next/Back, and
editable values (parameters, the example's inputs and targets, the learning rate).

The steps are the story's parts (`views.story.parts`, figures left out) that the page's stepper
shows: a neuron's forward pass, the loss, the δs, each gradient, the update; each rendered as the
same HTML blocks the documents use (MathML: nothing is fetched from a CDN). An edit makes a new
network and records the step again (`explain_step`), so every number shown is the engine's.

    from chainrule.views.widget import StepWidget
    w = StepWidget(net)      # display it; w.next(), w.back(), w.edit("w5", 0.5) from Python too

Needs the ``notebook`` extra (anywidget); imported only when a widget is made.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any

import anywidget
import traitlets

from chainrule.engine.network import Network
from chainrule.errors import ChainruleError
from chainrule.record.step import StepRecord, explain_step
from chainrule.views.html import block
from chainrule.views.numbers import DEFAULT_DIGITS
from chainrule.views.story import parts
from chainrule.views.svg import network_svg

SHOWN = ("forward", "softmax", "loss", "deltas", "gradient", "update")  # the parts the stepper steps through
MAX_STEPS = 400  # a huge network is not read step by step (the page stops at the same count)
TITLES = {"softmax": "Forward: softmax of layer {key}", "forward": "Forward: neuron {key}", "loss": "Loss",
          "deltas": "Backward: each neuron's δ = ∂L/∂z", "gradient": "Backward: ∂L/∂{key}",
          "update": "Update: every parameter takes one step down its gradient"}  # fmt: skip

_ESM = """
function render({ model, el }) {
  const bar = document.createElement("div");
  const back = document.createElement("button");
  const next = document.createElement("button");
  const where = document.createElement("span");
  const body = document.createElement("div");
  const picture = document.createElement("div");
  const edits = document.createElement("details");
  back.textContent = "◀ Back";
  next.textContent = "Next ▶";
  bar.className = "chainrule-bar";
  bar.append(back, where, next);
  edits.innerHTML = "<summary>Edit values</summary>";
  const form = document.createElement("div");
  edits.append(form);
  picture.className = "chainrule-picture";
  el.append(picture, bar, body, edits);
  back.addEventListener("click", () => { model.set("index", Math.max(0, model.get("index") - 1)); model.save_changes(); });
  next.addEventListener("click", () => {
    model.set("index", Math.min(model.get("steps").length - 1, model.get("index") + 1)); model.save_changes();
  });
  function show() {
    const steps = model.get("steps"), i = model.get("index");
    const step = steps[i] || { title: "", html: "" };
    where.textContent = ` ${i + 1} / ${steps.length}: ${step.title} `;
    body.innerHTML = step.html;  // the package's own escaped HTML and MathML (views.html)
    picture.innerHTML = model.get("picture");  // the package's own SVG (views.svg), names escaped there
    back.disabled = i === 0;
    next.disabled = i >= steps.length - 1;
    const error = model.get("error");
    if (error) { const p = document.createElement("p"); p.className = "chainrule-error"; p.textContent = error; body.prepend(p); }
  }
  function fields() {
    form.replaceChildren();
    const values = model.get("values");
    for (const name of Object.keys(values)) {
      const label = document.createElement("label");
      const input = document.createElement("input");
      label.textContent = name + " ";
      input.type = "number"; input.step = "any"; input.value = values[name];
      input.addEventListener("change", () => {
        model.set("values", { ...model.get("values"), [name]: Number(input.value) }); model.save_changes();
      });
      label.append(input);
      form.append(label);
    }
  }
  model.on("change:index", show);
  model.on("change:steps", show);
  model.on("change:error", show);
  model.on("change:picture", show);
  model.on("change:values", fields);
  show();
  fields();
}
export default { render };
"""

_CSS = """
.chainrule-bar { display: flex; gap: 0.5em; align-items: center; margin-bottom: 0.5em; }
.chainrule-error { color: #b00020; }
.chainrule-picture svg { max-width: 100%; height: auto; }
.jp-OutputArea label { display: inline-block; margin: 0 1em 0.3em 0; }
"""


def steps_of(record: StepRecord, digits: int = DEFAULT_DIGITS) -> list[dict[str, str]]:
    """The record's steps: the story's parts the page steps through, each as title, phase and HTML."""
    out: list[dict[str, str]] = []
    for part in parts([record], digits, None, figures=False, max_terms=8):
        if part.phase not in SHOWN:
            continue
        if len(out) == MAX_STEPS:
            out.append({"phase": "note", "title": "… and more", "html": "<p>The worked example has every step.</p>"})
            break
        html = re.sub(r' xmlns="[^"]*"', "", "\n".join(block(b) for b in part.blocks))
        out.append({"phase": part.phase, "title": TITLES[part.phase].format(key=part.key), "html": html})
    return out


def editable(net: Network) -> dict[str, float]:
    """What the widget lets a reader change: the learning rate, the first example, the parameters."""
    values = {"learning_rate": float(net.training.learning_rate)}
    if net.x.shape[0]:
        values |= {name: float(v) for name, v in zip(net.input_names, net.x[0], strict=True)}
        values |= {f"target {name}": float(v) for name, v in zip(net.target_names(), net.y[0], strict=True)}
    return values | net.parameters()


def with_values(net: Network, values: dict[str, float]) -> Network:
    """A copy of `net` with the edited values in place (unknown names and non-finite values refused)."""
    made = copy.deepcopy(net)
    for name, value in values.items():
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise ChainruleError(f"{name}: expected a finite number, got {value!r}")
        if name == "learning_rate":
            if value <= 0:
                raise ChainruleError(f"learning_rate: expected a number > 0, got {value}")
            made.training.learning_rate = float(value)
        elif name in made.input_names and made.x.shape[0]:
            made.x[0, made.input_names.index(name)] = value
        elif name.startswith("target ") and name[7:] in made.target_names() and made.y.shape[0]:
            made.y[0, made.target_names().index(name[7:])] = value
        else:
            _set_parameter(made, name, value)
    return made


def _set_parameter(net: Network, name: str, value: float) -> None:
    for layer in net.layers:
        for j, row in enumerate(layer.weight_names):
            if name in row:
                layer.weight[j, row.index(name)] = value
                return
        if name in layer.bias_names:
            layer.bias[layer.bias_names.index(name)] = value
            return
        if name == layer.alpha_name:
            layer.alpha[0] = value
            return
    raise ChainruleError(f"{name}: expected a value the widget shows (a parameter, an input, a target)")


class StepWidget(anywidget.AnyWidget):
    """The worked step of `net`, part by part: `index` follows Next/Back; editing `values` records
    the step again."""

    _esm = _ESM
    _css = _CSS
    steps: traitlets.List[dict[str, str]] = traitlets.List([]).tag(sync=True)
    index = traitlets.Int(0).tag(sync=True)
    values = traitlets.Dict({}).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    picture = traitlets.Unicode("").tag(sync=True)  # the network with this step's values, as an SVG

    def __init__(self, net: Network, digits: int = DEFAULT_DIGITS, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.net, self.digits = net, digits
        self.record = explain_step(net)
        self.steps = steps_of(self.record, digits)
        self.picture = network_svg(self.record, digits)
        self.values = editable(net)
        self._good = dict(self.values)  # the last values that made a step: a refused edit goes back to them
        self.observe(self._edited, names="values")

    @property
    def step(self) -> dict[str, str]:
        return dict(self.steps[self.index])

    def next(self) -> None:
        self.index = min(self.index + 1, len(self.steps) - 1)

    def back(self) -> None:
        self.index = max(self.index - 1, 0)

    def edit(self, name: str, value: float) -> None:
        self.values = {**self.values, name: value}

    def _edited(self, change: dict[str, Any]) -> None:
        """New values: a new network and its step, at the same place (or the last step, if fewer).
        Values the engine refuses leave the step as it was, say why in `error`, and go back."""
        if change["new"] == self._good:
            return
        try:
            net = with_values(self.net, dict(change["new"]))
            record = explain_step(net)
        except (ChainruleError, ValueError, FloatingPointError) as exc:
            self.values = self._good
            self.error = str(exc)
            return
        self.net, self.record, self.error, self._good = net, record, "", dict(change["new"])
        self.steps = steps_of(record, self.digits)
        self.picture = network_svg(record, self.digits)
        self.index = min(self.index, len(self.steps) - 1)
