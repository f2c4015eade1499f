// redflag analyst page: score one text, show the risk, the indicators and the evidence highlighted in the text.
"use strict";
const COLORS = ["#b3261e", "#7a4b00", "#5b2a86", "#0b5c4a", "#8a3b12"];
const EXAMPLES = {
  blatant: "加入只需399元，每推荐一人奖励100元，三代以内团队业绩都有提成，躺赚不是梦！名额有限，速速私信。",
  disguised: "【云岭茶园·共建合伙人】认购一份茶园权益2980元，即享每月固定分红300元。带朋友一起来共建，每位新伙伴为你带来600元感谢金，伙伴的伙伴加入你也有收益。",
  negative: "Invite a friend to FreshCart and you both get a $10 coupon on your next order. No fees, no levels, and you never earn from anyone else's purchases.",
};
const $ = (id) => document.getElementById(id);
const esc = (s) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

async function post(text) {
  const headers = { "content-type": "application/json" };
  const key = sessionStorage.getItem("redflag-key");
  if (key) headers["authorization"] = "Bearer " + key;
  return fetch("/v1/score", { method: "POST", headers, body: JSON.stringify({ text }) });
}

async function score() {
  const text = $("text").value;
  if (!text.trim()) { $("status").textContent = "请输入文案 / Please enter a description."; $("text").focus(); return; }
  $("status").textContent = "评估中… Scoring…";
  let res = await post(text);
  if (res.status === 401) {
    const key = window.prompt("此服务需要 API key / This service needs an API key:");
    if (!key) { $("status").textContent = "需要 API key / An API key is required."; return; }
    sessionStorage.setItem("redflag-key", key.trim());
    res = await post(text);
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    if (res.status === 401) sessionStorage.removeItem("redflag-key");
    $("status").textContent = `错误 Error ${res.status}: ${(body.error && body.error.message) || res.statusText}`;
    return;
  }
  render(text, body);
  $("status").textContent = `风险 Risk ${body.risk_level} (${body.risk_score.toFixed(2)})`;
}

function render(text, r) {
  $("result").hidden = false;
  const pct = Math.round(r.risk_score * 100);
  $("gauge-fill").style.width = pct + "%";
  $("gauge").setAttribute("aria-valuenow", String(pct));
  $("gauge").setAttribute("aria-valuetext", `${pct}% · ${r.risk_level}`);
  const lvl = $("risk-level");
  lvl.textContent = { low: "低 low", medium: "中 medium", high: "高 high" }[r.risk_level] || r.risk_level;
  lvl.className = "level " + r.risk_level;
  $("risk-score").textContent = `风险分 risk score ${r.risk_score.toFixed(2)}`;
  renderFacts(r.facts || {});
  $("indicators").innerHTML = r.indicators.map((ind, i) => `
    <li><span><span class="swatch" style="background:${COLORS[i]}"></span>${esc(ind.name_zh)} / ${esc(ind.name_en)}${ind.flagged ? ' <span class="flag" aria-label="flagged">⚑</span>' : ""}</span>
      <span class="bar" role="meter" aria-label="${esc(ind.name_en)}" aria-valuemin="0" aria-valuemax="100" aria-valuenow="${Math.round(ind.score * 100)}"><div style="width:${Math.round(ind.score * 100)}%;background:${COLORS[i]}"></div></span>
      <span>${ind.score.toFixed(2)}</span></li>`).join("");
  $("highlighted").innerHTML = highlight(text, r.indicators);
}

function renderFacts(f) {
  const chips = [];
  if (f.levels !== undefined) chips.push(`层级 levels: ${f.levels}`);
  if (f.entry_fee) chips.push(`入门费 entry fee: ${f.entry_fee.amount} ${f.entry_fee.currency}`);
  if (f.promised_return) chips.push(`承诺回报 promised return: ${f.promised_return.rate_percent}% / ${f.promised_return.period}`);
  if (f.commission_rates) chips.push(`提成 commission: ${f.commission_rates.join("%, ")}%`);
  $("facts").innerHTML = chips.map((c) => `<li>${esc(c)}</li>`).join("");
}

// Evidence offsets count Unicode code points; JavaScript strings index UTF-16 units, so work on code points.
function highlight(text, indicators) {
  const chars = Array.from(text);
  const cover = chars.map(() => []);
  indicators.forEach((ind, i) => ind.evidence.forEach((e) => { for (let k = e.start; k < e.end && k < chars.length; k++) cover[k].push(i); }));
  let html = "", k = 0;
  while (k < chars.length) {
    let j = k + 1;
    while (j < chars.length && cover[j].join() === cover[k].join()) j++;
    const piece = esc(chars.slice(k, j).join(""));
    if (cover[k].length) {
      const tip = cover[k].map((i) => { const ind = indicators[i]; return `${esc(ind.name_zh)} / ${esc(ind.name_en)} · ${ind.score.toFixed(2)} · ${esc(ind.legal_basis)}`; }).join("<br>");
      const label = cover[k].map((i) => indicators[i].name_en).join(", ");
      html += `<mark class="i${cover[k][0]}" tabindex="0" data-code="${indicators[cover[k][0]].code}" aria-label="${esc(label)}">${piece}<span class="tip" role="tooltip">${tip}</span></mark>`;
    } else html += piece;
    k = j;
  }
  return html;
}

$("score").addEventListener("click", score);
$("text").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); score(); } });
document.querySelectorAll("button.example").forEach((b) => b.addEventListener("click", () => { $("text").value = EXAMPLES[b.dataset.example]; score(); }));
