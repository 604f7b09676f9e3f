// chainrule serve: the page. It draws what the server sends and sends back what the user changes.
// It never computes the math: every number shown comes from the server's answer (`shown`, `exact`).
"use strict";

const $ = (id) => document.getElementById(id);

const app = {
  data: null,       // the server's last answer: network, record, shown, exact, the step shown, graph, ...
  doc: null,        // the network as the user has it now: edits land here at once, before any answer
  version: 0,       // the count of the user's changes: every request carries it, an older answer is dropped
  step: 0,          // 0 = the whole network; 1..step_count = the step shown (the server writes out only that one)
  example: 1,
  losses: [],       // the loss at epoch 0 and after each epoch trained on this page (from the server)
  testLosses: [],   // the test examples' loss likewise, when some are held out
  wires: "weights", // what the diagram's wires show: "weights" or "gradients"
  enlarged: null,   // the hidden neuron whose map is shown large
  running: false,
  busy: false,
  choices: null,
};

// ---------------------------------------------------------------- talking to the server
// Anything taking over BUSY_MS shows the busy mark (and aria-busy) until every request is back.
const BUSY_MS = 200;
let inFlight = 0, busyTimer = null;
function working(delta) {
  inFlight += delta;
  if (inFlight > 0 && !busyTimer) {
    busyTimer = setTimeout(() => { $("busy").hidden = false; document.body.setAttribute("aria-busy", "true"); }, BUSY_MS);
  }
  if (inFlight === 0) {
    clearTimeout(busyTimer);
    busyTimer = null;
    $("busy").hidden = true;
    document.body.removeAttribute("aria-busy");
  }
}

async function api(path, body, signal) {
  working(1);
  try {
    const response = await fetch(path, body === undefined ? { signal } : {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal,
    });
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`;
      try { message = (await response.json()).detail || message; } catch (e) { /* not JSON */ }
      throw new Error(message);
    }
    return response;
  } finally { working(-1); }
}

// A change of the user's: answers to anything asked before it are dropped when they arrive.
function changed() { return ++app.version; }
function current(answer) { return answer.version === app.version; }

function say(message, isError) {
  const status = $("status");
  status.textContent = message || "";
  status.classList.toggle("error", Boolean(isError));
}

// Ask `path` for the network's state; shown only if nothing changed meanwhile (same version, same
// step asked). Answers null when refused or dropped.
async function load(path, body, keepStep) {
  const at = keepStep ? app.step : 0;
  try {
    const held = Number($("test-share").value);  // the test examples, marked on the boundary plot
    const answer = await (await api(path, { test_fraction: held, ...body, at, version: app.version })).json();
    if (!current(answer) || (keepStep && at !== app.step)) return null;  // overtaken by a later change
    say("");
    show(answer, keepStep);
    return answer;
  } catch (err) {
    say(err.message, true);
    return null;
  }
}

function recompute(network, keepStep = true) {
  app.doc = network;
  return load("/api/step", { network, example: app.example }, keepStep);
}

// ---------------------------------------------------------------- the URL keeps the state
function encodeState() {
  const json = JSON.stringify({ network: app.doc, example: app.example, step: app.step });
  const bytes = new TextEncoder().encode(json);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decodeState(text) {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

function saveState() {
  history.replaceState(null, "", "#s=" + encodeState());
}

// ---------------------------------------------------------------- showing an answer
function show(answer, keepStep) {
  const focused = focusedName();
  app.data = answer;
  app.doc = answer.network;
  app.example = answer.example;
  if (!keepStep || app.step > answer.step_count) app.step = answer.at || 0;
  $("title").textContent = answer.network.title || "";
  document.title = `chainrule — ${answer.network.title || "network"}`;
  drawDiagram();
  showStep();
  fillValues();
  fillStructure();
  drawLossCurve();
  drawBoundary();
  saveState();
  refreshViews();  // views.js: the matrix form and the graph, when shown
  refocus(focused);
}

// The drawing and the value boxes are made anew by each answer: the element the user was on gets
// the focus back (by its name), so that editing from the keyboard goes on where it was.
function focusedName() {
  const focused = document.activeElement;
  const name = app.refocus || focused?.dataset?.name;
  app.refocus = null;
  return name ? { name, scope: focused?.closest?.("#values") ? "values" : "diagram" } : null;
}

function refocus(where) {
  if (where) $(where.scope).querySelector(`[data-name="${CSS.escape(where.name)}"]`)?.focus();
}

// ---------------------------------------------------------------- the stepper
function showStep() {
  const count = app.data.step_count;
  // The server writes out the step asked for; until it is here the previous one stays dimmed.
  const step = app.step && app.data.at === app.step ? app.data.step : null;
  $("step-count").textContent = `step ${app.step} of ${count}`;
  $("step-prev").disabled = app.step === 0;
  $("step-first").disabled = app.step === 0;
  $("step-next").disabled = app.step === count;
  $("step-last").disabled = app.step === count;
  const perEpoch = app.data.updates_per_epoch;
  $("example-pick").hidden = perEpoch < 2;
  $("example").max = perEpoch;
  $("example").value = app.example;
  $("example-max").textContent = perEpoch;
  $("notice").hidden = !app.data.notice;
  $("notice").textContent = app.data.notice || "";
  const eqs = $("equations");
  eqs.replaceChildren();
  const svg = $("diagram");
  svg.classList.toggle("stepping", Boolean(step));
  svg.querySelectorAll(".hl").forEach((n) => n.classList.remove("hl"));
  if (!step) {
    $("step-title").textContent = app.step
      ? "…"
      : "Press Next (or →) to work one update: forward, loss, backward, update.";
    return;
  }
  $("step-title").textContent = step.title;
  step.neurons.forEach((n) => svg.querySelector(`[data-node="${CSS.escape(n)}"]`)?.classList.add("hl"));
  // step.param: the parameter this gradient step is about, a bias (b1) as much as a weight
  [...step.edges, ...(step.param ? [step.param] : [])]
    .forEach((w) => svg.querySelector(`[data-edge="${CSS.escape(w)}"]`)?.classList.add("hl"));
  if (step.phase === "loss" || step.phase === "backward") svg.querySelector('[data-node="loss"]')?.classList.add("hl");
  for (const line of step.lines) {
    const div = document.createElement("div");
    div.className = line.text ? "prose" : "eq";
    if (line.text) div.textContent = line.text;
    else {
      div.innerHTML = line.mathml;  // MathML written by the server (escaped there)
      // The plain reading for screen readers, on the math itself (role=math may carry a label; a div may not).
      div.querySelector("math")?.setAttribute("aria-label", line.plain);
      if (line.note) {
        const note = document.createElement("span");
        note.className = "note";
        note.textContent = line.note;
        div.appendChild(note);
      }
    }
    eqs.appendChild(div);
  }
  eqs.querySelectorAll(".eq").forEach(wrapWide);
}

// A line of MathML wider than the page (a sum over a batch, on a phone) is cut into pieces
// before its top-level =, ≈, + and binary −, which then wrap like words. Only the layout changes.
const MATHML = "http://www.w3.org/1998/Math/MathML";
function wrapWide(div) {
  const math = div.querySelector("math");
  if (!math || math.getBoundingClientRect().width <= div.clientWidth) return;
  const row = math.childElementCount === 1 && math.firstElementChild.localName === "mrow" ? math.firstElementChild : math;
  const pieces = [[]];
  let previous = null;
  for (const node of [...row.children]) {
    const text = node.localName === "mo" ? node.textContent : "";
    const binary = text === "−" && previous && previous.localName !== "mo";
    if ((["=", "≈", "+"].includes(text) || binary) && pieces[pieces.length - 1].length) pieces.push([]);
    pieces[pieces.length - 1].push(node);
    previous = node;
  }
  if (pieces.length < 2) return;
  const parts = pieces.map((nodes) => {
    const part = document.createElementNS(MATHML, "math");
    const mrow = document.createElementNS(MATHML, "mrow");
    mrow.append(...nodes);
    part.appendChild(mrow);
    return part;
  });
  // The first piece reads the whole line out; the rest are only its layout.
  const label = math.getAttribute("aria-label");
  if (label) {
    parts[0].setAttribute("aria-label", label);
    parts.slice(1).forEach((p) => p.setAttribute("aria-hidden", "true"));
  }
  math.replaceWith(...parts);
  div.classList.add("wrapped");
}

// Show step `step`: the server writes it out (only that one) for the network on the page.
function go(step) {
  app.step = Math.max(0, Math.min(app.data.step_count, step));
  showStep();
  saveState();
  if (app.step) load("/api/step", { network: app.doc, example: app.example }, true);
}

// ---------------------------------------------------------------- editing values
// Where a name's value lives in the network document: [container, key].
function slot(doc, name) {
  if (name === "learning_rate") return [doc.training, "learning_rate"];
  const record = app.data.record;
  const example = record.step.examples[0] - 1;
  const inputs = record.network.inputs;
  if (inputs.includes(name)) return [doc.examples[example].x, inputs.indexOf(name)];
  const outs = app.data.graph.outputs;
  if (name.startsWith("y_") && outs.includes(name.slice(2))) return [doc.examples[example].y, outs.indexOf(name.slice(2))];
  let index = 0;  // the graph's edges come in the document's order: layer, receiving row, sending column
  for (const [li, layer] of doc.layers.entries()) {
    const info = record.network.layers[li];
    for (const row of layer.weights) {
      for (const i of row.keys()) {
        if (app.data.graph.edges[index++]?.weight === name) return [row, i];
      }
    }
    const b = info.bias_names.indexOf(name);
    if (b >= 0) return Array.isArray(layer.bias) ? [layer.bias, b] : [layer, "bias"];
    if (info.alpha_name === name) return [layer, "alpha"];
  }
  return null;
}

// The user's value for `name`: it goes into the network at once (app.doc) and wins over any answer
// still on its way. Refused text is said beside `input` (when given), which gets its value back.
function setValue(name, text, input) {
  const value = Number(String(text).trim().replace(/\u2212/g, "-"));
  const refuse = (message) => {
    if (input) { fieldError(input, message); input.value = exactOf(input.dataset.key || name) ?? input.value; }
    else say(message, true);
  };
  if (String(text).trim() === "" || !Number.isFinite(value)) {
    refuse(`${name}: expected a number, got ${JSON.stringify(String(text))}`);
    return;
  }
  stopTraining();
  const doc = structuredClone(app.doc);
  const place = slot(doc, name);
  if (!place) { refuse(`${name} cannot be edited here`); return; }
  if (input) fieldError(input, "");
  place[0][place[1]] = value;
  changed();
  if (app.example > 1 && name !== "learning_rate") {
    // The document holds the epoch's starting values: the edit is to them, so show update 1.
    app.example = 1;
    say(`${name} = ${value} is the value at the start of the epoch: showing update 1`);
  }
  recompute(doc);
}

// A message beside an input (its own line under it, read out by screen readers); "" clears it.
function fieldError(input, message) {
  const id = `${input.id || input.dataset.name}-error`.replace(/[^\w-]/g, "_");
  let note = document.getElementById(id);
  if (!message) { note?.remove(); input.removeAttribute("aria-invalid"); return; }
  if (!note) {
    note = Object.assign(document.createElement("span"), { id, className: "field-error" });
    note.setAttribute("role", "alert");
    input.insertAdjacentElement("afterend", note);
  }
  note.textContent = message;
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", id);
}

function openInlineEditor(target) {
  const name = target.getAttribute("data-name");
  const form = $("inline-edit"), input = $("inline-value");
  const key = app.data.record.network.inputs.includes(name) || name.startsWith("y_") ? name + suffix() : name;
  $("inline-name").textContent = name;
  input.value = exactOf(key);
  const box = target.getBoundingClientRect(), wrap = form.parentElement.getBoundingClientRect();
  form.style.left = `${Math.max(0, Math.min(box.left - wrap.left, wrap.width - 190))}px`;
  form.style.top = `${box.top - wrap.top + box.height / 2 - 18}px`;
  form.hidden = false;
  form.dataset.name = name;
  form.returnFocus = target.getAttribute("data-name");
  input.focus();
  input.select();
}

function closeInlineEditor() {
  const form = $("inline-edit");
  if (form.hidden) return;
  form.hidden = true;
  const back = $("diagram").querySelector(`[data-name="${CSS.escape(form.dataset.name)}"]`);
  back?.focus();
}

function valueInput(name, key, label) {
  const row = document.createElement("label");
  row.className = "value";
  const span = document.createElement("span");
  span.textContent = label || name;
  const input = document.createElement("input");
  input.value = exactOf(key);
  input.dataset.name = name;
  input.setAttribute("inputmode", "decimal");
  input.setAttribute("autocomplete", "off");
  input.setAttribute("aria-label", `${label || name}`);
  input.dataset.key = key;
  input.addEventListener("change", () => setValue(name, input.value, input));
  row.append(span, input);
  return row;
}

function fillValues() {
  const record = app.data.record, s = suffix();
  const box = $("values");
  if (document.activeElement !== $("lr")) $("lr").value = String(app.data.network.training.learning_rate);
  const batch = String(app.data.network.training.batch);
  if (![...$("batch").options].some((o) => o.value === batch)) $("batch").add(new Option(batch, batch));
  $("batch").value = batch;
  // While the user is in a box, the boxes stay (only the others' values follow), so that an answer
  // arriving mid-typing neither takes the box away nor overwrites what is being typed.
  const inputs = [...box.querySelectorAll("input[data-key]")];
  if (box.contains(document.activeElement) && inputs.every((i) => exactOf(i.dataset.key) !== undefined)) {
    for (const input of inputs) if (input !== document.activeElement) input.value = exactOf(input.dataset.key);
    return;
  }
  box.replaceChildren();
  const group = (title, rows) => {
    const fs = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = title;
    fs.append(legend, ...rows);
    box.appendChild(fs);
  };
  const example = record.step.examples[0];
  group(`inputs and targets (example ${example})`, [
    ...record.network.inputs.map((x) => valueInput(x, x + s)),
    ...app.data.graph.outputs.map((n) => valueInput(`y_${n}`, `y_${n}${s}`)),
  ]);
  const params = record.updates.map((u) => u.param);
  if (params.length <= 60) group("weights and biases", params.map((p) => valueInput(p, p)));
  else group("weights and biases", [document.createTextNode(`${params.length} parameters: click one in the drawing to edit it.`)]);
}

// ---------------------------------------------------------------- layers, activations, loss
function structureButton(text, label, op, layer) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.setAttribute("aria-label", label);
  b.title = label;
  b.addEventListener("click", () => edit(op, layer));
  return b;
}

function fillStructure() {
  const { record } = app.data;
  const box = $("structure");
  box.replaceChildren();
  const last = record.network.layers.length - 1;
  record.network.layers.forEach((layer, li) => {
    const row = document.createElement("div");
    row.className = "layer-row";
    const name = document.createElement("span");
    name.className = "layer-name";
    name.textContent = `${li === last ? "output" : "hidden"} ${layer.name}: ${layer.neurons.length}`;
    row.appendChild(name);
    if (li < last) {
      row.append(structureButton("−", `one neuron fewer in ${layer.name}`, "remove_neuron", li),
        structureButton("+", `one neuron more in ${layer.name}`, "add_neuron", li));
    }
    const select = document.createElement("select");
    select.setAttribute("aria-label", `activation of layer ${layer.name}`);
    // Only what the engine accepts here (the server asks pairing_refusal), and the current one.
    for (const a of new Set([layer.activation, ...app.data.valid.activations[li]])) select.add(new Option(a, a));
    select.value = layer.activation;
    select.addEventListener("change", () => edit("activation", li, select.value));
    row.appendChild(select);
    if (li < last) row.appendChild(structureButton("✕", `remove layer ${layer.name}`, "remove_layer", li));
    box.appendChild(row);
  });
  const add = structureButton("+ hidden layer", "add a hidden layer before the output layer", "add_layer", last);
  add.className = "wide";
  box.appendChild(add);
  // The feature boxes follow the network's inputs; they are offered when its inputs are a plane's.
  $("features").hidden = !app.data.boundary;
  for (const box of $("features").querySelectorAll("input")) box.checked = record.network.inputs.includes(box.value);
  const loss = $("loss");
  loss.replaceChildren(...[...new Set([record.network.loss, ...app.data.valid.losses])].sort().map((l) => new Option(l, l)));
  loss.value = record.network.loss;
}

function resetCurve() {
  app.losses = [];
  app.testLosses = [];
}

// A change of shape, activation, loss or weights: another network, so its curve starts again at
// epoch 0; a Run going on goes on with the new network.
async function edit(op, layer, name = "") {
  const wasRunning = app.running;
  stopTraining();
  resetCurve();
  drawLossCurve();
  const before = app.data.record.network.layers.at(-1).activation;
  const answer = await load("/api/edit", { network: app.doc, op, layer, name, example: 1 }, false);
  if (answer && op === "loss") {
    const after = answer.record.network.layers.at(-1).activation;
    say(after !== before
      ? `loss ${name}: the output layer's activation is now ${after} (was ${before}), as ${name} needs`
      : `loss ${name}: the output layer keeps ${after}`);
  }
  if (answer && wasRunning) run();
  return answer;
}

async function download(format) {
  try {
    const response = await api("/api/export", { network: app.doc, format, example: app.example });
    const name = (response.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/)?.[1] || "chainrule.txt";
    const url = URL.createObjectURL(await response.blob());
    const a = Object.assign(document.createElement("a"), { href: url, download: name });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } catch (err) {
    say(err.message, true);
  }
}

// ---------------------------------------------------------------- wiring
function tooltipFor(target) {
  const tip = $("tooltip");
  if (!target) { tip.hidden = true; return; }
  tip.textContent = target.getAttribute("aria-label");
  const box = target.getBoundingClientRect(), wrap = tip.parentElement.getBoundingClientRect();
  tip.hidden = false;
  tip.style.left = `${Math.max(0, Math.min(box.left - wrap.left, wrap.width - tip.offsetWidth))}px`;
  tip.style.top = `${Math.max(0, box.top - wrap.top - tip.offsetHeight - 6)}px`;
}

function wire() {
  $("step-first").addEventListener("click", () => go(0));
  $("step-prev").addEventListener("click", () => go(app.step - 1));
  $("step-next").addEventListener("click", () => go(app.step + 1));
  $("step-last").addEventListener("click", () => go(app.data.step_count));
  const toUpdate = (k) => {
    app.example = Math.max(1, Math.min(app.data.updates_per_epoch, Math.round(k) || 1));
    changed();
    recompute(app.doc);
  };
  $("example").addEventListener("change", () => toUpdate(Number($("example").value)));
  $("update-prev").addEventListener("click", () => toUpdate(app.example - 1));
  $("update-next").addEventListener("click", () => toUpdate(app.example + 1));
  $("wires").addEventListener("change", () => { app.wires = $("wires").value; drawDiagram(); showStep(); });
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, select, textarea") || e.altKey || e.ctrlKey || e.metaKey || !app.data) return;
    if (views.picture === "graph") {  // the graph view's own stepper: the one shown
      const last = (views.answer?.circuit.order.length || 1) - 1;
      const keys = { ArrowRight: views.at + 1, ArrowLeft: views.at - 1, Home: 0, End: last };
      if (e.key in keys) { e.preventDefault(); circuitGo(keys[e.key]); }
      return;
    }
    const keys = { ArrowRight: app.step + 1, ArrowLeft: app.step - 1, Home: 0, End: app.data.step_count };
    if (e.key in keys) { e.preventDefault(); go(keys[e.key]); }
  });
  const svg = $("diagram");
  const owner = (e) => e.target.closest?.("[data-name]");
  svg.addEventListener("mouseover", (e) => tooltipFor(owner(e)));
  svg.addEventListener("mouseleave", () => tooltipFor(null));
  svg.addEventListener("focusin", (e) => tooltipFor(owner(e)));
  svg.addEventListener("focusout", () => tooltipFor(null));
  svg.addEventListener("click", (e) => { const t = owner(e); if (t?.classList.contains("editable")) openInlineEditor(t); });
  svg.addEventListener("keydown", (e) => {
    const t = owner(e);
    if ((e.key === "Enter" || e.key === " ") && t?.classList.contains("editable")) { e.preventDefault(); openInlineEditor(t); }
  });
  $("inline-edit").addEventListener("submit", (e) => {
    e.preventDefault();
    const name = $("inline-edit").dataset.name;
    closeInlineEditor();
    setValue(name, $("inline-value").value);
    app.refocus = name;  // the drawing is redrawn by the answer: focus goes back to the same element
  });
  $("inline-value").addEventListener("keydown", (e) => { if (e.key === "Escape") closeInlineEditor(); });
  $("inline-value").addEventListener("blur", () => setTimeout(() => { $("inline-edit").hidden = true; }, 150));
  $("lr").addEventListener("change", () => setValue("learning_rate", $("lr").value, $("lr")));
  $("batch").addEventListener("change", () => {
    stopTraining();
    const doc = structuredClone(app.doc);
    const v = $("batch").value;
    doc.training.batch = /^\d+$/.test(v) ? Number(v) : v;
    changed();
    app.example = 1;
    recompute(doc, false);
  });
  $("loss").addEventListener("change", () => edit("loss", 0, $("loss").value));
  // A built-in set, drawn with the points and noise chosen; Regenerate draws it again with the next seed.
  const useDataset = async (seed) => {
    const name = $("dataset").value;
    if (!name) { say("data: pick a data set first", true); return; }
    stopTraining();
    resetCurve();
    app.seed = seed;
    const noise = $("noise").value === "" ? null : Number($("noise").value);
    const body = { network: app.doc, name, n: Number($("points").value), noise, seed };
    if (await load("/api/dataset", body, false)) {
      $("values-panel").open = false;  // a hundred points' worth of values: make room for the plots
    }
  };
  $("use-dataset").addEventListener("click", () => useDataset(0));
  $("regenerate").addEventListener("click", () => useDataset((app.seed || 0) + 1));
  $("discretize").addEventListener("change", drawBoundary);
  // Inputs made from x1 and x2 (the server works each example's out; the first layer gets weights for them).
  $("features").addEventListener("change", () => {
    const chosen = [...$("features").querySelectorAll("input:checked")].map((i) => i.value);
    edit("features", 0, ["x1", "x2", ...chosen].join(","));
  });
  $("show-test").addEventListener("change", drawBoundary);
  $("csv-file").addEventListener("change", async () => {
    const file = $("csv-file").files[0];
    if (file) $("csv-text").value = await file.text();
  });
  $("use-csv").addEventListener("click", async () => {
    stopTraining();
    resetCurve();
    await load("/api/dataset", { network: app.doc, name: "csv", csv: $("csv-text").value }, false);
  });
  $("reinit").addEventListener("click", () => edit("init", 0, $("init").value));
  $("test-share").addEventListener("change", () => { stopTraining(); resetCurve(); drawLossCurve(); recompute(app.doc); });
  $("train-run").addEventListener("click", run);
  $("train-pause").addEventListener("click", pause);
  $("train-epoch").addEventListener("click", () => { stopTraining(); trainOnce(1); });
  new ResizeObserver(() => { if (app.data) { drawDiagram(); showStep(); } }).observe($("diagram-box"));
  $("download-toml").addEventListener("click", () => download("toml"));
  $("download-doc").addEventListener("click", () => download($("doc-format").value));
  $("copy-link").addEventListener("click", async () => {
    saveState();
    try { await navigator.clipboard.writeText(location.href); say("Link copied: it holds the whole network."); }
    catch (e) { say("The address bar holds the whole network: copy it from there."); }
  });
}

async function start() {
  wire();
  wireViews();
  try {
    app.choices = await (await api("/api/choices")).json();
  } catch (err) { say(err.message, true); return; }
  for (const d of app.choices.datasets) $("datasets-classes").appendChild(new Option(d, d));
  for (const d of app.choices.regression_datasets) $("datasets-regression").appendChild(new Option(d, d));
  for (const i of app.choices.inits) $("init").add(new Option(i, i));
  const match = location.hash.match(/^#s=(.+)$/);
  if (match) {
    try {
      const saved = decodeState(match[1]);
      app.example = saved.example || 1;
      app.step = saved.step || 0;
      if (await recompute(saved.network, true)) return;
    } catch (err) { say(`The link could not be read (${err.message}); showing the server's network.`, true); }
  }
  const { network } = await (await api("/api/network")).json();
  app.step = 0;
  await recompute(network, false);
}

start();
