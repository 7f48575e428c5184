// The usage dashboard: one call to GET /v1/billing/usage, drawn as cards, a chart and two tables.
// Text goes in with textContent only (model names and reasons come from data); the key stays in
// this tab's sessionStorage; the range and tenant live in the address's #fragment, to share.

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

const count = new Intl.NumberFormat("en-US");
const percent = new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 1 });
const dollars = (value) => new Intl.NumberFormat("en-US", {
  style: "currency", currency: "USD",
  minimumFractionDigits: value !== 0 && Math.abs(value) < 1 ? 4 : 2,
  maximumFractionDigits: value !== 0 && Math.abs(value) < 1 ? 4 : 2,
}).format(value);
const millis = (value) => (value === null ? "–" : `${count.format(Math.round(value))} ms`);
const rate = (value) => (value === null ? "–" : percent.format(value));

const FIGURES = {
  requests: (t) => count.format(t.requests),
  success_rate: (t) => rate(t.success_rate),
  cost_usd: (t) => dollars(t.cost_usd),
  saved_usd: (t) => dollars(t.saved_usd),
  tokens: (t) => count.format(t.prompt_tokens + t.completion_tokens),
  prompt_tokens: (t) => count.format(t.prompt_tokens),
  completion_tokens: (t) => count.format(t.completion_tokens),
  cache_hit_rate: (t) => rate(t.cache_hit_rate),
  cache_hits: (t) => count.format(t.cache_hits),
  guardrail_blocks: (t) => count.format(t.guardrail_blocks),
  errors: (t) => count.format(t.errors),
  avg_latency_ms: (t) => millis(t.avg_latency_ms),
  avg_overhead_ms: (t) => millis(t.avg_overhead_ms),
};

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function element(tag, attributes = {}, text = "") {
  const node = tag === "svg" || ["rect", "text", "title", "g", "line"].includes(tag)
    ? document.createElementNS(SVG, tag) : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function bar(share) {
  const track = element("span", { class: "bar" }), fill = element("span");
  fill.style.width = `${Math.max(0, Math.min(100, share * 100)).toFixed(1)}%`;  // CSSOM: allowed by the CSP
  track.append(fill);
  return track;
}

function emptyRow(body, columns, text) {
  const row = element("tr");
  row.append(element("td", { colspan: String(columns), class: "empty" }, text));
  body.append(row);
}

function drawDays(days) {
  const svg = $("per-day");
  svg.replaceChildren();
  const width = svg.clientWidth || 960, height = 200, top = 16, bottom = 20;  // drawn at its size: no stretching
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const most = Math.max(1, ...days.map((d) => d.requests));
  const step = width / days.length;
  const scale = (n) => ((height - top - bottom) * n) / most;
  days.forEach((day, i) => {
    const cached = day.cache_hits, answered = day.succeeded - day.cache_hits, other = day.requests - day.succeeded;
    const group = element("g", { "data-date": day.date, "data-requests": String(day.requests) });
    group.append(element("title", {}, `${day.date}: ${count.format(day.requests)} requests, `
      + `${count.format(cached)} from the cache, ${dollars(day.cost_usd)}`));
    let y = height - bottom;
    for (const [kind, n] of [["answered", answered], ["cached", cached], ["other", other]]) {
      if (n <= 0) continue;
      y -= scale(n);
      group.append(element("rect", { class: kind, x: (i * step + step * 0.15).toFixed(1), y: y.toFixed(1),
        width: (step * 0.7).toFixed(1), height: scale(n).toFixed(1) }));
    }
    if (day.requests) {
      group.append(element("text", { x: (i * step + step / 2).toFixed(1), y: (y - 3).toFixed(1),
        "text-anchor": "middle", class: "count" }, count.format(day.requests)));
    }
    if (days.length <= 16 || i % Math.ceil(days.length / 16) === 0) {
      group.append(element("text", { x: (i * step + step / 2).toFixed(1), y: height - 5, "text-anchor": "middle",
        class: "axis" }, day.date.slice(5)));
    }
    svg.append(group);
  });
}

function drawModels(models) {
  const body = $("models").tBodies[0];
  const most = Math.max(0, ...models.map((m) => m.cost_usd));
  body.replaceChildren(...models.map((m) => {
    const row = element("tr", { "data-model": m.model });
    row.append(element("td", {}, m.model === "(none)" ? "no model call" : m.model), element("td", { class: "num" }, count.format(m.requests)),
      element("td", { class: "num" }, count.format(m.prompt_tokens + m.completion_tokens)),
      element("td", { class: "num", "data-figure": "model_cost_usd" }, dollars(m.cost_usd)));
    const cell = element("td");
    cell.append(bar(most ? m.cost_usd / most : 0));
    row.append(cell);
    return row;
  }));
  if (!models.length) emptyRow(body, 5, "No model calls.");
}

function drawBlocks(blocks) {
  const body = $("blocks").tBodies[0];
  const entries = Object.entries(blocks).sort((a, b) => b[1] - a[1]);
  const most = Math.max(0, ...entries.map(([, n]) => n));
  body.replaceChildren(...entries.map(([reason, n]) => {
    const row = element("tr", { "data-reason": reason });
    const cell = element("td");
    cell.append(bar(n / most));
    row.append(element("td", {}, reason.replaceAll("_", " ")), element("td", { class: "num" }, count.format(n)), cell);
    return row;
  }));
  if (!entries.length) emptyRow(body, 3, "Nothing blocked.");
}

let shown = null;  // the usage on the page, redrawn when the window changes size

function render(usage) {
  shown = usage;
  $("report").hidden = false;  // first: the chart is drawn at its laid-out width
  const who = usage.all_tenants ? "all tenants" : `tenant ${usage.tenant}`;
  $("heading").textContent = `${who}, ${usage.from} to ${usage.to}`;
  for (const node of document.querySelectorAll("[data-figure]")) {
    const figure = FIGURES[node.dataset.figure];
    if (figure) node.textContent = figure(usage.totals);
  }
  drawDays(usage.days);
  drawModels(usage.models);
  drawBlocks(usage.totals.blocks_by_reason);
}

async function load() {
  const key = $("key").value.trim();
  if (!key) return;
  sessionStorage.setItem("gateway-key", key);
  const query = new URLSearchParams({ from: $("from").value, to: $("to").value });
  if ($("tenant").value.trim()) query.set("tenant", $("tenant").value.trim());
  history.replaceState(null, "", `#${query}`);
  $("status").textContent = "Loading…";
  document.body.dataset.state = "loading";
  try {
    const response = await fetch(`/v1/billing/usage?${query}`, { headers: { Authorization: `Bearer ${key}` } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message = body.error?.message || body.message || response.statusText;
      throw new Error(`${response.status}: ${message}`);
    }
    render(body);
    $("status").textContent = `Updated ${new Date().toLocaleTimeString()}.`;
    document.body.dataset.state = "ready";
  } catch (error) {
    $("report").hidden = true;
    $("status").textContent = `Could not load usage (${error.message}).`;
    document.body.dataset.state = "error";
  }
}

function start() {
  const shared = new URLSearchParams(location.hash.slice(1));
  const today = new Date();
  const monthAgo = new Date(today.getTime() - 29 * 86400000);
  $("from").value = shared.get("from") || isoDay(monthAgo);
  $("to").value = shared.get("to") || isoDay(today);
  $("tenant").value = shared.get("tenant") || "";
  $("key").value = sessionStorage.getItem("gateway-key") || "";
  $("query").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  addEventListener("resize", () => shown && drawDays(shown.days));
  if ($("key").value) load();
}

start();
