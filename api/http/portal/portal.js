// The partner portal: one page over the public API, with the partner's own key.
// Every text from the API is inserted as text (never as HTML); the key lives in this tab's
// sessionStorage only.
"use strict";

const KEY = "partnerledger.token";
const COLORS = { pending: "#8a9bb0", available: "#0b5cad", in_payout: "#f2a900", paid: "#1b6e2d" };
const state = { token: null, partner: null, currency: null, cursors: [], next: null };

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name === "css") Object.assign(node.style, value); // CSSOM: allowed by the CSP
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

class Problem extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `HTTP ${status}`);
    this.status = status;
    this.errors = (body && body.errors) || {};
  }
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${state.token}`, ...(options.headers || {}) };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method: options.method || "GET", headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  if (options.raw && response.ok) return response;
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Problem(response.status, body);
  return body;
}

const money = (m) => (m ? `${m.amount} ${m.currency}` : "–");
const day = (iso) => (iso ? iso.slice(0, 10) : "–");

function table(columns, rows, rowClass) {
  if (!rows.length) return el("p", {}, "Nothing yet.");
  const head = el("tr", {}, ...columns.map((c) => el("th", { scope: "col", class: c.num ? "num" : "" }, c.title)));
  const body = rows.map((row) => el("tr", { class: rowClass ? rowClass(row) : "" },
    ...columns.map((c) => el("td", { class: c.num ? "num" : "" }, c.cell(row)))));
  return el("table", {}, el("thead", {}, head), el("tbody", {}, ...body));
}

function figures(target, pairs) {
  target.replaceChildren(...pairs.map(([term, value]) =>
    el("div", {}, el("dt", {}, term), el("dd", {}, value))));
}

function showError(target, error) {
  const fields = Object.entries(error.errors || {}).map(([f, m]) => `${f}: ${[].concat(m).join(" ")}`);
  target.textContent = [error.message, ...fields].join(" ");
}

// sign in and out -------------------------------------------------------------------------

async function signIn(token) {
  state.token = token;
  const directory = await api("/partners?limit=2");
  if (directory.items.length !== 1) {
    throw new Problem(403, { detail: "This page is for partner keys: use the key of one partner." });
  }
  state.partner = directory.items[0];
  sessionStorage.setItem(KEY, token);
  $("sign-in").hidden = true;
  $("portal").hidden = false;
  $("sign-out").hidden = false;
  $("who").textContent = `${state.partner.name} · ${state.partner.company} · ${state.partner.status}`;
  await loadAll();
}

function signOut() {
  sessionStorage.removeItem(KEY);
  location.reload();
}

// sections --------------------------------------------------------------------------------

async function loadStanding() {
  const s = await api(`/partners/${state.partner.id}/standing`);
  state.currency = (s.sourced_revenue.total && s.sourced_revenue.total.currency) || state.currency;
  figures($("standing"), [
    ["Tier", s.tier], ["Status", s.status], ["Rank", s.rank === null ? "–" : `#${s.rank}`],
    ["Sourced revenue", money(s.sourced_revenue.total)],
    ["New business", money(s.sourced_revenue.new_business)],
    ["Commission earned", money(s.commission.earned)],
    ["Deals won", `${s.deals.won} (win rate ${(Number(s.deals.win_rate) * 100).toFixed(1)} %)`],
    ["Referrals converted", `${s.referrals.converted} of ${s.referrals.recorded}`],
    ["Active customers", s.active_customers], ["Points", s.points],
  ]);
  const progress = $("tier-progress");
  if (!s.next_tier) {
    progress.replaceChildren(el("p", {}, s.tier === "registered" ? "" : "You are on the top tier."));
    return;
  }
  const have = Number(s.next_tier.trailing_revenue.amount);
  const need = Number(s.next_tier.threshold.amount);
  const share = Math.max(0, Math.min(100, need > 0 ? (have / need) * 100 : 100));
  progress.replaceChildren(
    el("p", { id: "progress-label" }, `Progress to ${s.next_tier.name}: ${money(s.next_tier.trailing_revenue)} of ${money(s.next_tier.threshold)} sourced in the last 365 days`),
    el("div", { class: "progress", role: "progressbar", "aria-labelledby": "progress-label",
                "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": share.toFixed(0) },
       el("span", { css: { width: `${share.toFixed(1)}%` } })));
}

function monthEnds(count) {
  const now = new Date();
  const ends = [];
  for (let back = count - 1; back >= 1; back -= 1) {
    const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back + 1, 1) - 1);
    ends.push(end.toISOString());
  }
  ends.push(null); // now
  return ends;
}

async function loadBalances() {
  const base = `/partners/${state.partner.id}/balances`;
  const current = await api(base);
  const [b] = current.balances;
  figures($("balances"), b ? [
    ["Earned", `${b.earned} ${b.currency}`], ["Reversed", `${b.reversed} ${b.currency}`],
    ["Pending", `${b.pending} ${b.currency}`], ["Available", `${b.available} ${b.currency}`],
    ["In payout", `${b.in_payout} ${b.currency}`], ["Paid", `${b.paid} ${b.currency}`],
  ] : [["Balances", "Nothing earned yet"]]);
  const ends = monthEnds(12);
  const history = await Promise.all(ends.map((end) =>
    api(end ? `${base}?as_of=${encodeURIComponent(end)}` : base)));
  const points = history.map((h, i) => ({
    month: (ends[i] || new Date().toISOString()).slice(0, 7),
    values: h.balances[0] || { pending: "0", available: "0", in_payout: "0", paid: "0" },
  }));
  drawChart(points);
}

function drawChart(points) {
  const buckets = Object.keys(COLORS);
  const totals = points.map((p) => buckets.reduce((sum, k) => sum + Math.max(0, Number(p.values[k])), 0));
  const top = Math.max(1, ...totals);
  const width = 640, height = 220, left = 56, bottom = 24, bar = (width - left) / points.length;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Stacked bars of pending, available, in payout and paid at each month's end; the figures are in the table below.");
  const add = (name, attrs, text) => {
    const node = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
  };
  add("text", { x: 0, y: 12 }, top.toFixed(0));
  add("text", { x: 0, y: height - bottom }, "0");
  points.forEach((p, i) => {
    let y = height - bottom;
    for (const k of buckets) {
      const h = (Math.max(0, Number(p.values[k])) / top) * (height - bottom - 16);
      y -= h;
      add("rect", { x: left + i * bar + 4, y, width: bar - 8, height: h, fill: COLORS[k] });
    }
    add("text", { x: left + i * bar + 4, y: height - 6 }, p.month.slice(2));
  });
  const legend = el("p", { class: "legend" }, ...buckets.map((k) =>
    el("span", {}, el("i", { css: { background: COLORS[k] } }), k.replace("_", " "))));
  $("chart").replaceChildren(svg, legend);
  $("chart-table").replaceChildren(table(
    [{ title: "Month end", cell: (p) => p.month },
     ...buckets.map((k) => ({ title: k.replace("_", " "), num: true, cell: (p) => p.values[k] }))],
    points));
}

async function loadStatement(cursor) {
  const kind = $("kind").value;
  const query = new URLSearchParams({ limit: "20" });
  if (kind) query.set("kind", kind);
  if (cursor) query.set("cursor", cursor);
  const page = await api(`/partners/${state.partner.id}/statement?${query}`);
  state.next = page.next_cursor;
  $("statement-next").disabled = !page.next_cursor;
  $("statement-first").disabled = !cursor;
  $("statement").replaceChildren(table([
    { title: "Date", cell: (e) => day(e.occurred_at) },
    { title: "Kind", cell: (e) => e.kind },
    { title: "Amount", num: true, cell: (e) => money(e.amount) },
    { title: "Source", cell: (e) => (e.source.type ? `${e.source.type} ${e.source.id}` : "–") },
    { title: "Plan version", num: true, cell: (e) => e.plan_version ?? "–" },
    { title: "Balance", num: true, cell: (e) => money(e.running_balance) },
    { title: "Why", cell: (e) => el("button", { type: "button", class: "link",
        "aria-label": `Explain the ${e.kind} of ${money(e.amount)} on ${day(e.occurred_at)}`,
        onclick: () => explain(e.entry_id, e.kind) }, "Explain") },
  ], page.items));
}

async function explain(entryId, kind) {
  const box = $("explain");
  try {
    const x = await api(`/partners/${state.partner.id}/statement/${encodeURIComponent(entryId)}/explain?kind=${kind}`);
    const parts = [el("p", {}, x.rule)];
    if (x.arithmetic) {
      parts.push(el("pre", {}, `${x.arithmetic.formula} = ${x.arithmetic.exact}\n` +
        `rounded ${x.arithmetic.rounding}: ${x.arithmetic.result}`));
    }
    parts.push(el("p", {}, `Plan version ${x.plan.version ?? "–"}, tier ${x.plan.tier ?? "–"}; ` +
      `${x.events.length} event(s) behind this line.`));
    $("explain-body").replaceChildren(...parts);
  } catch (error) {
    $("explain-body").replaceChildren(el("p", { class: "error" }, error.message));
  }
  box.hidden = false;
  box.focus();
}

async function downloadStatement() {
  const kind = $("kind").value;
  const query = new URLSearchParams({ format: "csv" });
  if (kind) query.set("kind", kind);
  const response = await api(`/partners/${state.partner.id}/statement?${query}`, { raw: true });
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, download: `statement-${state.partner.id}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function loadDeals() {
  const page = await api(`/partners/${state.partner.id}/deals?limit=100`);
  $("deals").replaceChildren(table([
    { title: "Customer", cell: (d) => d.customer.name },
    { title: "Domain", cell: (d) => d.customer.domain },
    { title: "Estimated", num: true, cell: (d) => money(d.estimated_value) },
    { title: "Status", cell: (d) => d.status },
    { title: "Protected until", cell: (d) => day(d.protected_until) },
    { title: "Won", num: true, cell: (d) => money(d.amount) },
  ], page.items.slice().reverse()));
}

async function loadReferrals() {
  const page = await api(`/partners/${state.partner.id}/referrals?limit=100`);
  $("referrals").replaceChildren(table([
    { title: "Lead", cell: (r) => r.lead.email }, { title: "Company", cell: (r) => r.lead.company },
    { title: "Status", cell: (r) => r.status },
    { title: "Attribution until", cell: (r) => day(r.attribution_expires_at) },
  ], page.items.slice().reverse()));
}

async function loadPayouts() {
  const page = await api(`/partners/${state.partner.id}/payouts?limit=100`);
  $("payouts").replaceChildren(table([
    { title: "Started", cell: (p) => day(p.started_at) },
    { title: "Amount", num: true, cell: (p) => money(p.amount) },
    { title: "Status", cell: (p) => p.status },
    { title: "Reference", cell: (p) => p.reference || p.reason || "–" },
  ], page.items.slice().reverse()));
}

function periods() {
  const now = new Date();
  const year = now.getUTCFullYear(), month = now.getUTCMonth() + 1;
  return [["all", "All time"], [`${year}`, `This year (${year})`],
          [`${year}-Q${Math.floor((month - 1) / 3) + 1}`, "This quarter"],
          [`${year}-${String(month).padStart(2, "0")}`, "This month"]];
}

async function loadLeaderboard() {
  const board = await api(`/leaderboard?period=${encodeURIComponent($("period").value)}&limit=20`);
  const rows = board.items.slice();
  if (board.own && !rows.some((r) => r.partner_id === board.own.partner_id)) rows.push(board.own);
  $("leaderboard").replaceChildren(table([
    { title: "Rank", num: true, cell: (r) => r.rank },
    { title: "Partner", cell: (r) => r.name ?? "Another partner" },
    { title: "Sourced revenue", num: true, cell: (r) => money(r.sourced_revenue) },
  ], rows, (r) => (r.partner_id === state.partner.id ? "mine" : "")));
}

async function loadAll() {
  if (state.partner.plan_id) {
    try {
      state.currency = (await api(`/plans/${state.partner.plan_id}`)).currency;
    } catch (error) { /* the plan is optional here: amounts still show their currency */ }
  }
  document.querySelectorAll(".currency").forEach((node) => { node.textContent = state.currency || ""; });
  const results = await Promise.allSettled([loadStanding(), loadBalances(), loadStatement(null),
    loadDeals(), loadReferrals(), loadPayouts(), loadLeaderboard()]);
  const failed = results.filter((r) => r.status === "rejected");
  $("notice").textContent = failed.length ? `Some figures could not load: ${failed[0].reason.message}` : "";
}

// forms -----------------------------------------------------------------------------------

async function submitDeal(event) {
  event.preventDefault();
  const form = event.target;
  $("deal-error").textContent = "";
  try {
    const deal = await api("/deals", { method: "POST", body: {
      partner_id: state.partner.id,
      customer: { name: form.name.value.trim(), domain: form.domain.value.trim() },
      estimated_value: { amount: form.value.value.trim(), currency: state.currency },
    } });
    form.reset();
    $("notice").textContent = `Deal with ${deal.customer.name} registered; protected until ${day(deal.protected_until)}.`;
    await Promise.all([loadDeals(), loadStanding()]);
  } catch (error) {
    showError($("deal-error"), error);
  }
}

async function submitReferral(event) {
  event.preventDefault();
  const form = event.target;
  $("referral-error").textContent = "";
  try {
    await api("/referrals", { method: "POST", body: {
      partner_id: state.partner.id,
      lead: { email: form.email.value.trim(), company: form.company.value.trim() },
    } });
    form.reset();
    $("notice").textContent = "Lead referred.";
    await Promise.all([loadReferrals(), loadStanding()]);
  } catch (error) {
    showError($("referral-error"), error);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const [value, label] of periods()) $("period").append(el("option", { value }, label));
  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("sign-in-error").textContent = "";
    try {
      await signIn($("token").value.trim());
    } catch (error) {
      state.token = null;
      $("sign-in-error").textContent = error.status === 401
        ? "That key was refused: it is unknown, revoked or expired." : error.message;
    }
  });
  $("sign-out").addEventListener("click", signOut);
  $("kind").addEventListener("change", () => { state.cursors = []; loadStatement(null); });
  $("statement-next").addEventListener("click", () => { state.cursors.push(state.next); loadStatement(state.next); });
  $("statement-first").addEventListener("click", () => { state.cursors = []; loadStatement(null); });
  $("statement-csv").addEventListener("click", () => downloadStatement().catch((e) => { $("notice").textContent = e.message; }));
  $("period").addEventListener("change", loadLeaderboard);
  $("deal-form").addEventListener("submit", submitDeal);
  $("referral-form").addEventListener("submit", submitReferral);
  const saved = sessionStorage.getItem(KEY);
  if (saved) signIn(saved).catch(() => sessionStorage.removeItem(KEY));
});
