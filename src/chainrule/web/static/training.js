// chainrule serve: training from the page. Run streams epochs from the server (server-sent events
// over one POST: the losses, the new network and its boundary, about ten times a second), trained
// by the command line's fast paths; the step is explained again only when shown (one request at a
// time, never queued). Pause is final at once: the stream is cut and any answer still on its way
// is dropped (it carries an older version, see app.js).
"use strict";

let stream = null;       // the AbortController of the stream being read, while Run lasts
let explaining = false;  // an explanation of the running network is on its way

function trainingBody(extra) {
  const penalty = $("penalty").value, rate = Number($("penalty-rate").value);
  return {
    network: app.doc, example: app.example, test_fraction: Number($("test-share").value),
    l1: penalty === "l1" ? rate : 0, l2: penalty === "l2" ? rate : 0, version: app.version, ...extra,
  };
}

// The curve's points: epoch 0 (before training) when the curve is empty, then each epoch's loss.
function addLosses(answer, first) {
  if (!app.losses.length && first) {
    app.losses.push(first.loss);
    if (first.test_loss !== null && first.test_loss !== undefined) app.testLosses.push(first.test_loss);
    app.lossShown = first.losses_shown[0];
  }
  if (!answer) return;
  app.losses.push(...answer.losses);
  app.testLosses.push(...answer.test_losses);
  if (answer.losses_shown.length) app.lossShown = answer.losses_shown.at(-1);
  if (answer.test_losses_shown.length) app.testShown = answer.test_losses_shown.at(-1);
}

// One epoch (the button): one request, answered with the explained state after it.
async function trainOnce(epochs) {
  const version = app.version;
  const answer = await load("/api/train", trainingBody({ epochs }), true);
  if (!answer || version !== app.version) return false;
  addLosses(answer, answer.start);
  drawLossCurve();
  return true;
}

// Read the server-sent events of one stream, handing each to `take`; false when refused or cut.
async function readStream(response, take) {
  const reader = response.body.getReader(), decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return true;
    text += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = text.indexOf("\n\n")) >= 0) {
      const chunk = text.slice(0, cut);
      text = text.slice(cut + 2);
      const data = chunk.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
      if (data && take(JSON.parse(data)) === false) return false;
    }
  }
}

// What one event changes on the page, if it is still current (Run on, nothing changed since).
function takeEvent(event, version) {
  if (!app.running || event.version !== version || version !== app.version) return false;
  if (event.kind === "start") addLosses(null, event);
  else if (event.kind === "error") { say(event.detail, true); return false; }
  else if (event.kind === "epochs") {
    addLosses(event);
    app.doc = event.network;
    app.data.boundary = event.boundary;
    drawLossCurve();
    drawBoundary();
    explainRunning(version);
  }
  return true;
}

// The diagram and the step shown follow the training, one explanation at a time.
async function explainRunning(version) {
  if (explaining) return;
  explaining = true;
  try {
    const body = { network: app.doc, example: app.example, at: app.step, version, test_fraction: Number($("test-share").value) };
    const answer = await (await api("/api/step", body)).json();
    if (app.running && current(answer) && answer.at === app.step) {
      // The explanation is of a network a few epochs back: the curve and the network trained
      // since stay (Pause keeps the latest, and explains that one).
      const { losses, testLosses, doc } = app;
      // So is the boundary the stream drew last: the explained network's own would step it back.
      if (app.data?.boundary) answer.boundary = app.data.boundary;
      show(answer, true);
      Object.assign(app, { losses, testLosses, doc });
    }
  } catch (err) { /* the next event asks again */ }
  explaining = false;
}

async function run() {
  if (app.running) return;
  app.running = true;
  const version = changed();
  stream = new AbortController();
  $("train-run").disabled = true;
  $("train-pause").disabled = false;
  try {
    while (app.running && version === app.version) {  // a stream ends after a few seconds: ask for the next
      const response = await api("/api/train/stream", trainingBody({ version }), stream.signal);
      if (!(await readStream(response, (event) => takeEvent(event, version)))) break;
    }
  } catch (err) {
    if (err.name !== "AbortError" && version === app.version) say(err.message, true);
  }
  if (version === app.version) stopTraining();
}

// Stop training: the stream is cut and every answer on its way dropped (the version moves on).
function stopTraining() {
  const wasRunning = app.running;
  app.running = false;
  stream?.abort();
  stream = null;
  changed();
  $("train-run").disabled = false;
  $("train-pause").disabled = true;
  return wasRunning;
}

// Pause: final at once; then the paused network is explained.
function pause() {
  if (!stopTraining()) return;
  drawLossCurve();
  recompute(app.doc);
}
