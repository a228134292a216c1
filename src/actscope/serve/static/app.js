// actscope serve: the web page. Plain JS, no build step; the API is /v1 (see serve_api.md).
"use strict";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "actscope-token";
const FINISHED = ["done", "failed", "cancelled"];
// Our own words for answers that come without a problem+json detail.
const WORDS = {
  401: "This server needs an access token.",
  404: "That job no longer exists.",
  408: "The server took too long to answer.",
  413: "The file is too large for this server.",
  415: "That file is not a video the server can read.",
  422: "The server could not use the request's fields.",
  500: "The server failed while handling the request.",
  503: "The server is unavailable.",
};

let token = sessionStorage.getItem(TOKEN_KEY) || "";
let shown = null; // the job shown: {id, done: whether its result is drawn}
let following = null; // AbortController of the event stream
let poller = null; // interval id of the polling fallback
let videoUrl = null; // blob: URL of the overlay video, revoked when replaced
let segments = [];

// ---- errors and the token ----
// An error with the answer's HTTP status (0: no answer) and a message in words.
const apiError = (status, message) => Object.assign(new Error(message), { status });

// The words for a failed answer: the problem+json detail, else the title, else our own words.
function problemMessage(status, text) {
  try {
    const body = JSON.parse(text);
    if (body && (body.detail || body.title)) {
      return typeof body.detail === "string" ? body.detail : body.title || WORDS[status];
    }
  } catch (e) {} // not JSON: our own words
  return WORDS[status] || "The server answered with an error it did not explain.";
}

// The error line: a message in words, or none.
function showError(message = "") {
  $("error").textContent = message;
  $("error").hidden = !message;
}
const clearError = () => showError("");

function askToken(message) {
  $("token-form").hidden = false;
  showError(token ? "That token was not accepted: " + message : message);
  $("token").focus();
}

const authHeaders = () => (token ? { Authorization: "Bearer " + token } : {});

// fetch() with the token; throws an apiError with words for any answer that is not OK.
async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, { ...options, headers: { ...authHeaders(), ...options.headers } });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw apiError(0, "The server could not be reached.");
  }
  if (!response.ok) {
    const message = problemMessage(response.status, await response.text());
    if (response.status === 401) askToken(message);
    throw apiError(response.status, message);
  }
  return response;
}

const getJSON = async (path) => (await api(path)).json();

// Runs an async action; shows its error in words (the 401 case is shown by api()).
async function attempt(action) {
  try {
    return await action();
  } catch (e) {
    if (e.name !== "AbortError" && e.status !== 401) showError(e.message);
    return undefined;
  }
}

// ---- upload ----
function upload(file) {
  clearError();
  const form = new FormData();
  form.append("file", file, file.name);
  form.append("task", $("task").value);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/v1/jobs");
  for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
  const bar = $("upload-progress");
  bar.value = 0;
  $("upload-text").textContent = "Uploading " + file.name + "…";
  xhr.upload.onprogress = (event) => {
    if (event.lengthComputable) bar.value = (100 * event.loaded) / event.total;
  };
  xhr.onload = () => {
    if (xhr.status >= 200 && xhr.status < 300) {
      bar.value = 100;
      $("upload-text").textContent = "Uploaded " + file.name + ".";
      const job = JSON.parse(xhr.responseText);
      showJob(job);
      refreshJobs();
    } else {
      $("upload-text").textContent = "Upload refused.";
      const message = problemMessage(xhr.status, xhr.responseText);
      if (xhr.status === 401) askToken(message);
      else showError(message);
    }
  };
  xhr.onerror = () => {
    $("upload-text").textContent = "Upload failed.";
    showError("The upload failed: the server could not be reached.");
  };
  xhr.send(form);
}

function setupUpload() {
  const zone = $("drop-zone");
  $("file-input").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (file) upload(file);
    event.target.value = ""; // choosing the same file again uploads it again
  });
  // Highlight the zone while a file is over it; a drop uploads the file.
  for (const type of ["dragover", "dragleave", "drop"]) {
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.classList.toggle("over", type === "dragover");
      const file = type === "drop" && event.dataTransfer.files[0];
      if (file) upload(file);
    });
  }
}

// ---- following a job: SSE over fetch, polling as the fallback ----
function stopFollowing() {
  if (following) following.abort();
  following = null;
  clearInterval(poller);
  poller = null;
}

async function follow(id) {
  stopFollowing();
  const controller = new AbortController();
  following = controller;
  let last = null;
  try {
    const response = await api(`/v1/jobs/${id}/events`, {
      signal: controller.signal,
      headers: { Accept: "text/event-stream" },
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let match;
      while ((match = /\r\n\r\n|\n\n|\r\r/.exec(buffer))) {
        const job = parseEvent(buffer.slice(0, match.index));
        buffer = buffer.slice(match.index + match[0].length);
        if (job) render((last = job));
      }
    }
  } catch (e) {
    if (controller.signal.aborted) return;
  }
  if (controller.signal.aborted) return;
  if (!last || !FINISHED.includes(last.state)) poll(id); // stream broke or ended early
}

// One SSE block ("event: job" + "data: ..." lines) -> the job JSON, or null.
function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split(/\r\n|\n|\r/)) {
    const [, field, value] = line.match(/^([^:]*):? ?(.*)$/); // ":..." lines are comments
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length || (event !== "job" && event !== "message")) return null;
  try {
    return JSON.parse(data.join("\n"));
  } catch (e) {
    return null;
  }
}

function poll(id) {
  clearInterval(poller);
  poller = setInterval(async () => {
    if (!shown || shown.id !== id) return clearInterval(poller);
    const job = await attempt(() => getJSON(`/v1/jobs/${id}`));
    if (!job) return clearInterval(poller); // the error is shown
    render(job);
    if (FINISHED.includes(job.state)) clearInterval(poller);
  }, 1000);
}

// ---- showing a job ----
function showJob(job) {
  stopFollowing();
  shown = { id: job.id, done: false };
  resetResult();
  $("job").hidden = false;
  render(job);
  if (!FINISHED.includes(job.state)) follow(job.id);
}

async function openJob(id) {
  clearError();
  const job = await attempt(() => getJSON(`/v1/jobs/${id}`));
  if (job) showJob(job);
}

function render(job) {
  if (!shown || job.id !== shown.id) return;
  const { done = 0, total = null, unit = "frames" } = job.progress || {};
  const state = { queued: "Waiting in the queue", running: "Running", done: "Done" };
  let text = `${job.filename || "video"} · ${job.task} · ${state[job.state] || job.state}`;
  if (job.state === "failed") text += ": " + errorText(job.error);
  if (job.state === "cancelled") text += ": the job was cancelled.";
  $("job-state").textContent = text;
  const bar = $("job-progress");
  if (total) {
    bar.max = total;
    bar.value = Math.min(done, total);
    $("job-progress-text").textContent = `${fmt(done)} of ${fmt(total)} ${unit}`;
  } else if (job.state === "done") {
    bar.max = 1;
    bar.value = 1;
    $("job-progress-text").textContent = "";
  } else {
    bar.removeAttribute("value"); // indeterminate
    $("job-progress-text").textContent = `${fmt(done)} ${unit}`;
  }
  if (job.state === "done" && !shown.done) {
    shown.done = true;
    showResult(job);
    refreshJobs();
  } else if (FINISHED.includes(job.state) && job.state !== "done") {
    refreshJobs();
  }
}

function errorText(error) {
  if (!error) return "no reason was given.";
  if (typeof error === "string") return error;
  return error.detail || error.message || error.title || JSON.stringify(error);
}

const fmt = (n) => (Number.isInteger(n) ? String(n) : Number(n).toFixed(1));
const secs = (t) => Number(t).toFixed(1) + " s";
const pct = (p) => Math.round(100 * p) + "%";

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function button(text, className, onClick) {
  const node = el("button", { type: "button", className, textContent: text });
  node.addEventListener("click", onClick);
  return node;
}

function resetResult() {
  const player = $("player");
  player.pause();
  player.removeAttribute("src");
  player.load();
  if (videoUrl) URL.revokeObjectURL(videoUrl);
  videoUrl = null;
  segments = [];
  const emptied = ["timeline", "topk", "alerts", "reps", "downloads", "headline", "summary"];
  emptied.forEach((id) => $(id).replaceChildren());
  const hidden = ["result", "topk-box", "alerts-box", "reps-box", "no-video"];
  hidden.forEach((id) => ($(id).hidden = true));
  $("current-action").textContent = "–";
}

function showResult(job) {
  const result = job.result || {};
  const files = job.files || {};
  $("result").hidden = false;
  loadVideo(files["overlay.mp4"]);
  segments = result.segments || [];
  drawTimeline(segments, result.duration);
  $("timeline").hidden = $("now-box").hidden = !result.segments;
  if (result.top) {
    $("topk-box").hidden = false;
    if (result.label) $("headline").textContent = "The clip: " + result.label;
    for (const { label, score } of result.top) {
      const meter = el("meter", { min: 0, max: 1, value: score, title: pct(score) });
      $("topk").append(el("li", {}, el("span", { textContent: label }), meter, pct(score)));
    }
  }
  if (result.alerts) showAlerts(result.alerts);
  if (result.repetitions) showReps(result);
  const facts = [];
  if (result.duration != null) facts.push("duration " + secs(result.duration));
  if (result.frames != null) facts.push(`${result.frames} frames`);
  if (result.frames_with_person != null) facts.push(`${result.frames_with_person} with a person`);
  if (result.people != null) facts.push(`${result.people} people`);
  $("summary").textContent = facts.join(" · ");
  for (const warning of result.warnings || []) {
    $("summary").append(el("p", { textContent: "Warning: " + String(warning) }));
  }
  for (const [name, path] of Object.entries(files)) {
    const link = el("a", { href: path, textContent: name, download: name });
    link.addEventListener("click", (event) => downloadWithToken(event, path, name));
    $("downloads").append(el("li", {}, link));
  }
}

// The overlay video: a blob: URL when a token must be sent, the URL itself otherwise.
async function loadVideo(path) {
  const player = $("player");
  player.hidden = !path;
  $("no-video").hidden = Boolean(path);
  if (!path) return;
  if (!token) {
    player.src = path;
    return;
  }
  const id = shown.id;
  const blob = await attempt(async () => (await api(path)).blob());
  if (!blob || !shown || shown.id !== id) return;
  videoUrl = URL.createObjectURL(blob);
  player.src = videoUrl;
}

// Plain links cannot carry the token header: fetch the file and save it from a blob.
async function downloadWithToken(event, path, name) {
  if (!token) return;
  event.preventDefault();
  const blob = await attempt(async () => (await api(path)).blob());
  if (!blob) return;
  const url = URL.createObjectURL(blob);
  el("a", { href: url, download: name }).click();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function drawTimeline(list, duration) {
  const total = duration || Math.max(0, ...list.map((s) => s.end)) || 1;
  const timeline = $("timeline");
  if (!list.length) {
    timeline.append(el("p", { className: "muted", textContent: "No actions were detected." }));
  }
  for (const { label, start, end, score } of list) {
    const block = button(label, "segment", () => seek(start));
    const sure = score != null ? `, score ${pct(score)}` : "";
    block.title = `${label}: ${secs(start)} – ${secs(end)}${sure}`;
    Object.assign(block.dataset, { start, end, label });
    block.style.left = (100 * start) / total + "%";
    block.style.width = Math.max(0.5, (100 * (end - start)) / total) + "%";
    block.style.setProperty("--hue", hue(label));
    timeline.append(block);
  }
}

// A stable colour per label.
function hue(label) {
  let h = 0;
  for (const c of label) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
}

function seek(time) {
  const player = $("player");
  player.currentTime = time;
  updateCurrent();
}

// The action under the play head, from the segments.
function updateCurrent() {
  const t = $("player").currentTime;
  const now = segments.find((s) => s.start <= t && t < s.end);
  $("current-action").textContent = now ? now.label : "–";
  for (const block of $("timeline").querySelectorAll(".segment")) {
    block.classList.toggle("active", now != null && Number(block.dataset.start) === now.start);
  }
}

function showAlerts(alerts) {
  $("alerts-box").hidden = false;
  if (!alerts.length) $("alerts").append(el("li", { textContent: "No fall was detected." }));
  for (const alert of alerts) {
    const time = alert.time ?? alert.onset ?? 0;
    let text = `Fall at ${secs(time)}`;
    if (alert.confidence != null) text += `, confidence ${pct(alert.confidence)}`;
    if (alert.confirmed === false) text += " (not confirmed)";
    $("alerts").append(el("li", {}, button(text, "link", () => seek(alert.onset ?? time))));
  }
}

function showReps(result) {
  $("reps-box").hidden = false;
  const what = result.exercise ? ` (${result.exercise})` : "";
  const count = `${result.count} repetitions${what}`;
  const lines = [el("p", { className: "count", textContent: count })];
  const extra = [];
  if (result.cadence_per_minute != null) extra.push(`${fmt(result.cadence_per_minute)} a minute`);
  if (result.form) extra.push(`form: ${result.form.label} (${pct(result.form.p_correct)} correct)`);
  if (extra.length) lines.push(el("p", { className: "muted", textContent: extra.join(" · ") }));
  const list = el("ol", { className: "reps" });
  for (const rep of result.repetitions) {
    let text = `${secs(rep.start)} – ${secs(rep.end)}`;
    if (rep.duration != null) text += ` (${secs(rep.duration)})`;
    list.append(el("li", {}, button(text, "link", () => seek(rep.start))));
  }
  $("reps").append(...lines, list);
}

// ---- past jobs ----
async function refreshJobs() {
  const page = await attempt(() => getJSON("/v1/jobs?limit=20&offset=0"));
  if (!page) return;
  const list = $("jobs");
  list.replaceChildren();
  $("no-jobs").hidden = page.items.length > 0;
  for (const job of page.items) {
    const when = job.created ? new Date(job.created).toLocaleString() : "";
    const name = `${job.filename || "video"} · ${job.task} · ${job.state}`;
    const open = button(name, "link", () => openJob(job.id));
    const remove = button("Delete", "secondary", () => deleteJob(job.id));
    remove.setAttribute("aria-label", `Delete job ${job.filename || job.id}`);
    const item = el("li", {}, open, el("span", { className: "muted", textContent: when }), remove);
    item.dataset.id = job.id;
    list.append(item);
  }
}

async function deleteJob(id) {
  clearError();
  const ok = await attempt(() => api(`/v1/jobs/${id}`, { method: "DELETE" }));
  if (ok === undefined) return;
  if (shown && shown.id === id) {
    stopFollowing();
    shown = null;
    resetResult();
    $("job").hidden = true;
  }
  refreshJobs();
}

// ---- start ----
function setupToken() {
  const match = location.hash.match(/token=([^&]+)/);
  if (match) {
    token = decodeURIComponent(match[1]);
    sessionStorage.setItem(TOKEN_KEY, token);
    history.replaceState(null, "", location.pathname + location.search); // out of the address bar
  }
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    $("token-form").hidden = true;
    clearError();
    refreshJobs();
    if (shown) openJob(shown.id);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setupToken();
  setupUpload();
  $("player").addEventListener("timeupdate", updateCurrent);
  $("player").addEventListener("seeked", updateCurrent);
  $("player").addEventListener("error", () => {
    if ($("player").getAttribute("src")) showError("This browser cannot play the overlay video.");
  });
  $("refresh").addEventListener("click", () => {
    clearError();
    refreshJobs();
  });
  refreshJobs();
});
