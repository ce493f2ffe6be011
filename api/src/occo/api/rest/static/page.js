// The status page of the Occopus REST service: read-only, no build step, no libraries.
//
// What the API answers is put on the page with textContent and attributes only, never
// parsed as HTML: node names, addresses and event data cannot add elements or scripts.
// EventSource cannot send an Authorization header, so the live stream is read with
// fetch() and parsed here (the text/event-stream format).
"use strict";

const TOKEN_KEY = "occopus-rest-token";
const RECENT_EVENTS = 50;
const EVENT_PAGE = 1000;
const LIST_REFRESH_MS = 10000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 15000;
const SVG_NS = "http://www.w3.org/2000/svg";
const KEEPALIVES = new Set(["ping", "keepalive", "heartbeat"]);

const page = {
  token: sessionStorage.getItem(TOKEN_KEY) || "",
  tokenless: false,       // the API answered without a token (auth: none)
  asking: false,          // the token form is shown
  listFailed: false,      // the message shown says the list could not be read
  ids: [],
  view: null,             // the selected infrastructure (see openView)
};

class Unauthorized extends Error {}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// --- small DOM helpers --------------------------------------------------------

const $ = (id) => document.getElementById(id);

function element(tag, attributes = {}, text = undefined) {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
  if (text !== undefined) made.textContent = text;
  return made;
}

function svgElement(tag, attributes = {}, text = undefined) {
  const made = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, String(value));
  if (text !== undefined) made.textContent = text;
  return made;
}

function shorten(text, length) {
  return text.length > length ? `${text.slice(0, length - 1)}\u2026` : text;
}

function showMessage(text) {
  const message = $("message");
  message.textContent = text || "";
  message.hidden = !text;
}

function setConnection(state, text) {
  const connection = $("connection");
  connection.dataset.state = state;
  connection.textContent = text;
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

// --- the API ------------------------------------------------------------------

function infraPath(id, rest = "") {
  return `infrastructures/${encodeURIComponent(id)}${rest}`;
}

async function reasonOf(answer) {
  try {
    const body = await answer.json();
    return String(body.message || body.reason || answer.statusText);
  } catch {
    return answer.statusText;
  }
}

// fetch() relative to the page (so a proxy's path prefix is kept), with the token.
async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (!headers.has("Accept")) headers.set("Accept", "application/json");
  if (page.token) headers.set("Authorization", `Bearer ${page.token}`);
  const answer = await fetch(path, { ...options, headers, cache: "no-store" });
  if (answer.status === 401) throw new Unauthorized(await reasonOf(answer));
  if (!answer.ok) throw new HttpError(answer.status, await reasonOf(answer));
  return answer;
}

async function apiJson(path, options = {}) {
  return (await api(path, options)).json();
}

// --- the token ----------------------------------------------------------------

// `#token=...` in the address: kept for this tab, then taken out of the address bar.
function takeTokenFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (!params.has("token")) return;
  const token = params.get("token").trim();
  params.delete("token");
  if (token) useToken(token);
  setFragment(params);
}

function setFragment(params) {
  const rest = params.toString();
  history.replaceState(null, "", `${location.pathname}${location.search}${rest ? `#${rest}` : ""}`);
}

function useToken(token) {
  page.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
}

function askForToken(problem) {
  closeView();
  page.asking = true;
  page.token = "";
  sessionStorage.removeItem(TOKEN_KEY);
  $("main").hidden = true;
  $("forget-token").hidden = true;
  $("token-form").hidden = false;
  $("token-error").textContent = problem || "";
  setConnection("idle", "");
  $("token-input").focus();
}

function onTokenSubmitted(event) {
  event.preventDefault();
  const token = $("token-input").value.trim();
  if (!token) return;
  $("token-input").value = "";
  useToken(token);
  page.asking = false;
  $("token-form").hidden = true;
  loadInfrastructures();
}

function forgetToken() {
  askForToken("");
}

// --- the infrastructures --------------------------------------------------------

async function loadInfrastructures() {
  let body;
  try {
    body = await apiJson("infrastructures/");
  } catch (error) {
    if (error instanceof Unauthorized) {
      askForToken(page.token ? `The token was refused: ${error.message}` : "");
    } else {
      page.listFailed = true;
      showMessage(`Cannot list the infrastructures: ${error.message}`);
    }
    return;
  }
  page.tokenless = !page.token;
  page.asking = false;
  if (page.listFailed) showMessage("");
  page.listFailed = false;
  $("token-form").hidden = true;
  $("main").hidden = false;
  $("forget-token").hidden = page.tokenless;
  const ids = body.infrastructures || body.infrastuctures || [];
  page.ids = ids.map(String);
  renderInfrastructures();
  const wanted = page.view
    ? page.view.id : new URLSearchParams(location.hash.slice(1)).get("infra");
  if (wanted && page.ids.includes(wanted)) {
    select(wanted);
  } else if (page.view) {
    showMessage(`Infrastructure ${page.view.id} is gone.`);
    closeView();
  } else if (page.ids.length) {
    select(page.ids[0]);
  }
}

function renderInfrastructures() {
  const list = $("infrastructures");
  const items = page.ids.map((id) => {
    const button = element("button", { type: "button", "data-infra": id }, id);
    if (page.view && page.view.id === id) button.setAttribute("aria-current", "true");
    button.addEventListener("click", () => select(id));
    const item = element("li");
    item.append(button);
    return item;
  });
  list.replaceChildren(...items);
  $("no-infrastructures").hidden = page.ids.length > 0;
}

function select(id) {
  if (page.view && page.view.id === id) return;
  closeView();
  const params = new URLSearchParams(location.hash.slice(1));
  params.set("infra", id);
  setFragment(params);
  openView(id);
  renderInfrastructures();
}

// --- the selected infrastructure -------------------------------------------------

function openView(id) {
  const view = {
    id,
    stop: new AbortController(),
    lastSeq: 0,             // the last event shown: the stream goes on after it
    refreshing: false,
    stale: false,
    retry: RETRY_MIN_MS,
    retryFirst: RETRY_MIN_MS,   // the pause before a reconnection: the server's `retry`
    live: false,
    graph: null,
    states: new Map(),      // node name -> its state, for the graph's boxes
  };
  page.view = view;
  $("detail").hidden = false;
  $("infra-title").textContent = id;
  $("infra-id").textContent = "";
  $("nodes").tBodies[0].replaceChildren();
  $("graph").replaceChildren();
  $("events").replaceChildren();
  refreshNodes(view, true);
  loadGraph(view);
  loadEvents(view).then(() => follow(view));
}

function closeView() {
  if (!page.view) return;
  page.view.stop.abort();
  page.view = null;
  $("detail").hidden = true;
  setConnection("idle", "");
}

function current(view) {
  return page.view === view && !view.stop.signal.aborted;
}

// A failure of one of the view's requests: the token form, or a message.
function viewFailed(view, what, error) {
  if (!current(view)) return;
  if (error instanceof Unauthorized) {
    askForToken(`The token was refused: ${error.message}`);
  } else if (error instanceof HttpError && error.status === 404) {
    showMessage(`Infrastructure ${view.id} is gone.`);
    closeView();
    loadInfrastructures();
  } else if (error.name !== "AbortError") {
    showMessage(`Cannot load ${what}: ${error.message}`);
  }
}

// --- nodes ----------------------------------------------------------------------------

// Re-read the node states; a request asked for while one is in flight runs after it,
// once, so a burst of events costs two requests at most. `live` asks the clouds (when
// the page opens an infrastructure, or on the button); after an event the states the
// records give are enough (a pass writes its records before their events), and a page
// left open costs the clouds nothing.
async function refreshNodes(view, live = false) {
  if (view.refreshing) {
    view.stale = true;
    view.live ||= live;
    return;
  }
  view.refreshing = true;
  view.live = live;
  try {
    do {
      view.stale = false;
      const path = infraPath(view.id, view.live ? "" : "?live=false");
      view.live = false;
      const body = await apiJson(path, { signal: view.stop.signal });
      if (!current(view)) return;
      renderNodes(view, nodesOf(body));
    } while (view.stale && current(view));
  } catch (error) {
    viewFailed(view, "the nodes", error);
  } finally {
    view.refreshing = false;
  }
}

// {name: {instances: {id: {state, resource_address}}, scaling: {...}}}, as the original
// answered, or the same under "nodes".
function nodesOf(body) {
  const nodes = body && typeof body.nodes === "object" && !Array.isArray(body.nodes)
    ? body.nodes : body;
  return Object.entries(nodes || {})
    .filter(([, node]) => node && typeof node === "object")
    .map(([name, node]) => ({
      name,
      scaling: node.scaling || {},
      instances: Object.entries(node.instances || {}).map(([nodeId, instance]) => ({
        nodeId,
        state: String((instance && instance.state) || "unknown"),
        addresses: addressesOf(instance && instance.resource_address),
      })),
    }));
}

function addressesOf(address) {
  if (address === null || address === undefined || address === "") return [];
  return (Array.isArray(address) ? address : [address]).map(String);
}

function scalingText(scaling) {
  const parts = [];
  if (scaling.actual !== undefined || scaling.target !== undefined) {
    parts.push(`${scaling.actual ?? "?"} of ${scaling.target ?? "?"}`);
  }
  if (scaling.min !== undefined || scaling.max !== undefined) {
    parts.push(`(min ${scaling.min ?? "?"}, max ${scaling.max ?? "?"})`);
  }
  return parts.join(" ");
}

// The state a node's box shows: its worst instance's.
const SEVERITY = ["failed", "shutdown", "temp_failed", "unknown", "pending"];

function nodeState(instances) {
  if (!instances.length) return "none";
  const states = instances.map((instance) => instance.state);
  if (states.every((state) => state === "ready")) return "ready";
  return SEVERITY.find((state) => states.includes(state))
    || states.find((state) => state !== "ready");
}

function renderNodes(view, nodes) {
  const rows = [];
  view.states = new Map();
  for (const node of nodes) {
    view.states.set(node.name, nodeState(node.instances));
    const instances = node.instances.length ? node.instances : [null];
    instances.forEach((instance, index) => {
      const row = element("tr", {
        "data-node": node.name,
        "data-node-id": instance ? instance.nodeId : "",
        "data-state": instance ? instance.state : "none",
      });
      if (index === 0) {
        const span = String(instances.length);
        row.append(element("th", { scope: "row", rowspan: span }, node.name),
          element("td", { rowspan: span, class: "scaling" }, scalingText(node.scaling)));
      }
      if (instance) {
        row.append(element("td", { class: "node-id" }, instance.nodeId),
          stateCell(instance.state),
          element("td", { class: "addresses" }, instance.addresses.join(", ")));
      } else {
        row.append(element("td", { class: "quiet", colspan: "3" }, "no instance"));
      }
      rows.push(row);
    });
  }
  $("nodes").tBodies[0].replaceChildren(...rows);
  paintGraph(view);
}

function stateCell(state) {
  const cell = element("td");
  cell.append(element("span", { class: "state", "data-state": state }, state));
  return cell;
}

// --- the dependency graph ---------------------------------------------------------

const BOX = { width: 172, height: 46, gapX: 76, gapY: 18, pad: 14 };

async function loadGraph(view) {
  try {
    const graph = await apiJson(infraPath(view.id, "/graph"), { signal: view.stop.signal });
    if (!current(view)) return;
    view.graph = graph;
    if (graph.name) {
      $("infra-title").textContent = graph.name;
      $("infra-id").textContent = view.id;
    }
    renderGraph(view);
  } catch (error) {
    viewFailed(view, "the dependency graph", error);
  }
}

// Levels left to right (the nodes that wait for nothing first), a level's nodes one
// under the other; an arrow from each dependent to its dependee.
function renderGraph(view) {
  const graph = view.graph;
  const levels = [];
  for (const node of graph.nodes) (levels[node.level] ||= []).push(node);
  const columns = levels.filter(Boolean);
  const tallest = Math.max(1, ...columns.map((column) => column.length));
  const width = BOX.pad * 2 + columns.length * BOX.width + (columns.length - 1) * BOX.gapX;
  const height = BOX.pad * 2 + tallest * BOX.height + (tallest - 1) * BOX.gapY;
  const svg = svgElement("svg", {
    viewBox: `0 0 ${Math.max(width, 1)} ${height}`, width: Math.max(width, 1), height,
    role: "img", "aria-label": "dependency graph",
  });
  const marker = svgElement("marker", {
    id: "arrowhead", viewBox: "0 0 10 10", refX: 10, refY: 5,
    markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse",
  });
  marker.append(svgElement("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }));
  const defs = svgElement("defs");
  defs.append(marker);
  svg.append(defs);

  const places = new Map();
  columns.forEach((column, x) => column.forEach((node, y) => places.set(node.name, {
    x: BOX.pad + x * (BOX.width + BOX.gapX),
    // a short column is centred on the tallest
    y: BOX.pad + (y + (tallest - column.length) / 2) * (BOX.height + BOX.gapY),
  })));

  for (const [dependent, dependee] of graph.dependencies) {
    const from = places.get(dependent);
    const to = places.get(dependee);
    if (!from || !to) continue;
    const x1 = from.x;
    const y1 = from.y + BOX.height / 2;
    const x2 = to.x + BOX.width;
    const y2 = to.y + BOX.height / 2;
    const bend = BOX.gapX / 2;
    const arrow = svgElement("path", {
      class: "dependency", "data-dependent": dependent, "data-dependee": dependee,
      d: `M ${x1} ${y1} C ${x1 - bend} ${y1}, ${x2 + bend} ${y2}, ${x2} ${y2}`,
      "marker-end": "url(#arrowhead)",
    });
    arrow.append(svgElement("title", {}, `${dependent} waits for ${dependee}`));
    svg.append(arrow);
  }

  for (const node of graph.nodes) {
    const place = places.get(node.name);
    const box = svgElement("g", {
      class: "graph-node", "data-node": node.name, "data-state": "none",
      transform: `translate(${place.x} ${place.y})`,
    });
    const count = node.min === node.max ? `${node.min}` : `${node.min}\u2013${node.max}`;
    box.append(
      svgElement("title", {}, `${node.name}: type ${node.type}, ${count} instance(s)`),
      svgElement("rect", { width: BOX.width, height: BOX.height, rx: 6 }),
      svgElement("text", { x: 10, y: 19, class: "name" }, shorten(node.name, 21)),
      svgElement("text", { x: 10, y: 36, class: "type" },
        `${shorten(node.type, 18)} \u00d7 ${count}`));
    svg.append(box);
  }
  $("graph").replaceChildren(svg);
  paintGraph(view);
}

function paintGraph(view) {
  for (const box of $("graph").querySelectorAll("g.graph-node")) {
    box.dataset.state = view.states.get(box.dataset.node) || "none";
  }
}

// --- events -------------------------------------------------------------------------

// The log's last events (it is read oldest first, a page at a time), and the cursor the
// stream starts from.
async function loadEvents(view) {
  let recent = [];
  try {
    for (;;) {
      const query = `/events?after=${view.lastSeq}&limit=${EVENT_PAGE}`;
      const body = await apiJson(infraPath(view.id, query), { signal: view.stop.signal });
      if (!current(view)) return;
      const events = body.events || [];
      recent = [...recent, ...events].slice(-RECENT_EVENTS);
      for (const event of events) view.lastSeq = Math.max(view.lastSeq, Number(event.seq) || 0);
      if (events.length < EVENT_PAGE) break;
    }
  } catch (error) {
    viewFailed(view, "the events", error);
    return;
  }
  for (const event of recent) addEvent(normalEvent(event));
}

// An event as the API gives it ({seq, name, time, data}), or a stream
// message's payload with the message's own id and name.
function normalEvent(payload, seq = undefined, name = undefined) {
  const whole = payload && typeof payload === "object" && !Array.isArray(payload);
  const data = whole && "data" in payload ? payload.data : payload;
  return {
    seq: Number(seq ?? (whole ? payload.seq : 0)) || 0,
    name: String(name || (whole && payload.name) || "message"),
    time: whole ? Number(payload.time ?? payload.timestamp) || null : null,
    data,
  };
}

function summary(data) {
  if (data === null || data === undefined) return "";
  if (typeof data !== "object") return String(data);
  return Object.entries(data)
    .filter(([key]) => key !== "infra_id")
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");
}

function addEvent(event) {
  const item = element("li", { "data-event": event.name, "data-seq": String(event.seq) });
  const when = event.time ? new Date(event.time * 1000) : new Date();
  item.append(
    element("time", { datetime: when.toISOString() }, when.toLocaleTimeString()),
    element("span", { class: "event-name" }, event.name),
    element("span", { class: "event-data" }, shorten(summary(event.data), 300)));
  const list = $("events");
  list.prepend(item);
  while (list.children.length > RECENT_EVENTS) list.lastElementChild.remove();
}

// --- the live stream ------------------------------------------------------------------

// Follow the event stream until the view closes; reconnect after a pause, asking for
// what came after the last event seen (Last-Event-ID).
async function follow(view) {
  const signal = view.stop.signal;
  while (current(view)) {
    setConnection("connecting", view.lastSeq ? "reconnecting\u2026" : "connecting\u2026");
    try {
      const headers = { Accept: "text/event-stream" };
      if (view.lastSeq) headers["Last-Event-ID"] = String(view.lastSeq);
      const answer = await api(infraPath(view.id, "/events/stream"), { headers, signal });
      setConnection("live", "live");
      await readEventStream(answer.body, signal, (message) => onMessage(view, message));
    } catch (error) {
      if (!current(view)) return;
      if (error instanceof Unauthorized || (error instanceof HttpError && error.status === 404)) {
        viewFailed(view, "the events", error);
        return;
      }
    }
    if (!current(view)) return;
    setConnection("offline", "disconnected, retrying\u2026");
    await sleep(view.retry, signal);
    view.retry = Math.min(view.retry * 2, RETRY_MAX_MS);
  }
}

function onMessage(view, message) {
  if (!current(view)) return;
  if (message.retry !== undefined) {
    view.retryFirst = Math.min(Math.max(RETRY_MIN_MS, message.retry), RETRY_MAX_MS);
  }
  view.retry = view.retryFirst;
  if (message.event === "gone") {            // the infrastructure was removed
    viewFailed(view, "the events", new HttpError(404, "gone"));
    return;
  }
  const seq = Number(message.id);
  if (Number.isFinite(seq) && seq > 0) {
    if (seq <= view.lastSeq) return;      // seen already, before a reconnection
    view.lastSeq = seq;
  } else if (KEEPALIVES.has(message.event) || message.data === "") {
    return;
  }
  let payload = message.data;
  try {
    payload = JSON.parse(message.data);
  } catch {
    // not JSON: shown as it is
  }
  addEvent(normalEvent(payload, seq > 0 ? seq : undefined, message.event));
  refreshNodes(view);
}

// The text/event-stream format: lines `field: value`, a blank line ends a message.
async function readEventStream(body, signal, onMessage) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  signal.addEventListener("abort", () => reader.cancel().catch(() => {}), { once: true });
  let buffer = "";
  let message = { id: "", event: "", data: [] };
  const line = (text) => {
    if (text === "") {
      if (message.data.length || message.retry !== undefined) {
        onMessage({ ...message, data: message.data.join("\n") });
      }
      message = { id: "", event: "", data: [] };
      return;
    }
    if (text.startsWith(":")) return;       // a comment: keeps the connection alive
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") message.data.push(value);
    else if (field === "event") message.event = value;
    else if (field === "id" && !value.includes("\0")) message.id = value;
    else if (field === "retry" && /^\d+$/.test(value)) message.retry = Number(value);
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    for (;;) {
      const end = buffer.search(/[\r\n]/);
      if (end < 0) break;
      if (buffer[end] === "\r" && end === buffer.length - 1) break;   // maybe \r\n split
      const skip = buffer.startsWith("\r\n", end) ? 2 : 1;
      line(buffer.slice(0, end));
      buffer = buffer.slice(end + skip);
    }
  }
}

// --- start ----------------------------------------------------------------------------

function start() {
  takeTokenFromFragment();
  $("token-form").addEventListener("submit", onTokenSubmitted);
  $("forget-token").addEventListener("click", forgetToken);
  $("ask-clouds").addEventListener("click", () => {
    if (page.view) refreshNodes(page.view, true);
  });
  loadInfrastructures();
  setInterval(() => {
    if (!page.asking && (page.token || page.tokenless)) loadInfrastructures();
  }, LIST_REFRESH_MS);
}

start();
