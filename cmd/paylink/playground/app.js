// The playground's channel: polls /api/state and renders what the fake Slack received
// (messages, thread replies, ephemeral answers, the form) from its Block Kit JSON.
"use strict";

const EMOJI = {
  white_check_mark: "✅", warning: "⚠️", no_entry_sign: "🚫", hourglass: "⌛",
  hourglass_flowing_sand: "⏳", leftwards_arrow_with_hook: "↩️", x: "❌",
  link: "🔗", moneybag: "💰", information_source: "ℹ️", lock: "🔒", bell: "🔔",
  large_green_circle: "🟢", large_yellow_circle: "🟡", red_circle: "🔴",
  hourglass_done: "⌛", wave: "👋", eyes: "👀", tada: "🎉", repeat: "🔁",
};

let names = {};
let lastState = "";
let openView = -1;

function esc(s) {
  return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}
function unentity(s) {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}
function emoji(s) {
  return s.replace(/:([a-z0-9_+-]+):/g, (all, n) => EMOJI[n] || all);
}

// formatText turns plain text between control sequences into safe HTML with Slack's
// basic mrkdwn: *bold*, _italic_, ~strike~, `code`, ```pre```, emoji, line breaks.
function formatText(s) {
  s = esc(unentity(s));
  const code = [];
  s = s.replace(/```([\s\S]*?)```/g, (_, c) => { code.push("<pre>" + c + "</pre>"); return "\u0000" + (code.length - 1) + "\u0000"; });
  s = s.replace(/`([^`\n]+)`/g, (_, c) => { code.push("<code>" + c + "</code>"); return "\u0000" + (code.length - 1) + "\u0000"; });
  const edge = "(^|[\\s(>])";
  const end = "(?=$|[\\s).,:;!?<])";
  s = s.replace(new RegExp(edge + "\\*([^*\\n]+)\\*" + end, "g"), "$1<b>$2</b>");
  s = s.replace(new RegExp(edge + "_([^_\\n]+)_" + end, "g"), "$1<i>$2</i>");
  s = s.replace(new RegExp(edge + "~([^~\\n]+)~" + end, "g"), "$1<s>$2</s>");
  s = emoji(s);
  s = s.replace(/\u0000(\d+)\u0000/g, (_, i) => code[+i]);
  return s.replace(/\n/g, "<br>");
}

function pad(n) { return String(n).padStart(2, "0"); }
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

// slackDate renders <!date^unix^format|fallback> in the reader's time zone.
function slackDate(unix, format) {
  const d = new Date(unix * 1000);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  const short = d.getDate() + " " + MONTHS[d.getMonth()];
  return format
    .replace("{date_short_pretty}", sameDay ? "Today" : short)
    .replace("{date_pretty}", sameDay ? "Today" : short + " " + d.getFullYear())
    .replace("{date_short}", short)
    .replace("{date}", short + " " + d.getFullYear())
    .replace("{date_num}", d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()))
    .replace("{time}", pad(d.getHours()) + ":" + pad(d.getMinutes()));
}

// control renders one <…> sequence: a mention, a channel, a date or a link.
function control(inner) {
  const [target, label] = inner.split(/\|(.*)/s);
  if (target.startsWith("@")) {
    const id = target.slice(1);
    return '<span class="mention">@' + esc(label || names[id] || id) + "</span>";
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    return '<span class="mention">#' + esc(label || names[id] || id) + "</span>";
  }
  if (target.startsWith("!date^")) {
    const parts = target.split("^");
    const unix = parseInt(parts[1], 10);
    if (!isNaN(unix)) return esc(slackDate(unix, parts[2] || "{date_short} {time}"));
    return esc(unentity(label || ""));
  }
  if (target.startsWith("!")) {
    const word = target.slice(1).split("^")[0];
    return '<span class="mention">@' + esc(label || word) + "</span>";
  }
  const url = unentity(target);
  if (/^(https?:\/\/|mailto:)/i.test(url)) {
    return '<a href="' + esc(url) + '" target="_blank" rel="noopener">' + esc(unentity(label || target)) + "</a>";
  }
  return esc(unentity("<" + inner + ">"));
}

function mrkdwn(src) {
  let out = "", i = 0, m;
  const re = /<([^<>]*)>/g;
  while ((m = re.exec(src))) {
    out += formatText(src.slice(i, m.index)) + control(m[1]);
    i = re.lastIndex;
  }
  return out + formatText(src.slice(i));
}

function textHTML(t) {
  if (!t) return "";
  if (t.type === "mrkdwn") return mrkdwn(t.text || "");
  return esc(t.text || "").replace(/\n/g, "<br>").replace(/:([a-z0-9_+-]+):/g, (all, n) => t.emoji === false ? all : (EMOJI[n] || all));
}

function el(tag, cls, html) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (html !== undefined) e.innerHTML = html;
  return e;
}

// buttonEl renders a button: a link button opens its URL; any other sends a signed
// block_actions interaction through the playground.
function buttonEl(b, blockID, msg) {
  const label = esc((b.text && b.text.text) || b.action_id);
  if (b.url) {
    const a = el("a", "button" + (b.style ? " " + b.style : ""), label);
    a.href = b.url;
    a.target = "_blank";
    a.rel = "noopener";
    a.dataset.actionId = b.action_id || "";
    return a;
  }
  const btn = el("button", "button" + (b.style ? " " + b.style : ""), label);
  btn.type = "button";
  btn.dataset.actionId = b.action_id || "";
  btn.addEventListener("click", async () => {
    if (b.confirm) {
      const c = b.confirm;
      const q = [c.title && c.title.text, c.text && c.text.text].filter(Boolean).join("\n\n");
      if (!window.confirm(unentity(q.replace(/<[^>]*\|([^>]*)>/g, "$1")))) return;
    }
    btn.disabled = true;
    try {
      const res = await post("/api/action", {
        channel: msg.channel || "", ts: msg.ts || "", ephemeral: msg.kind === "ephemeral",
        action_id: b.action_id, block_id: blockID || "", value: b.value || "",
        text: (b.text && b.text.text) || "",
      });
      if (res.error) showError(res.error);
    } finally {
      setTimeout(() => { btn.disabled = false; }, 800);
    }
  });
  return btn;
}

function blocksEl(blocks, msg) {
  const wrap = el("div", "blocks");
  for (const b of blocks) {
    switch (b.type) {
      case "header":
        wrap.appendChild(el("div", "b-header", textHTML(b.text)));
        break;
      case "section": {
        const s = el("div", "b-section");
        const main = el("div", "b-section-main");
        if (b.text) main.appendChild(el("div", "b-text", textHTML(b.text)));
        if (b.fields && b.fields.length) {
          const f = el("div", "b-fields");
          for (const field of b.fields) f.appendChild(el("div", "b-field", textHTML(field)));
          main.appendChild(f);
        }
        s.appendChild(main);
        if (b.accessory && b.accessory.type === "button") s.appendChild(buttonEl(b.accessory, b.block_id, msg));
        wrap.appendChild(s);
        break;
      }
      case "context": {
        const c = el("div", "b-context");
        for (const e of b.elements || []) {
          if (e.type === "image") {
            const img = el("img");
            img.src = e.image_url;
            img.alt = e.alt_text || "";
            c.appendChild(img);
          } else {
            c.appendChild(el("span", "", textHTML(e)));
          }
        }
        wrap.appendChild(c);
        break;
      }
      case "actions": {
        const a = el("div", "b-actions");
        for (const e of b.elements || []) {
          if (e.type === "button") a.appendChild(buttonEl(e, b.block_id, msg));
        }
        wrap.appendChild(a);
        break;
      }
      case "divider":
        wrap.appendChild(el("hr", "b-divider"));
        break;
      default:
        wrap.appendChild(el("div", "b-unknown", esc("[" + b.type + " block]")));
    }
  }
  return wrap;
}

function timeText(ms) {
  const d = new Date(ms);
  return pad(d.getHours()) + ":" + pad(d.getMinutes());
}

function messageEl(m) {
  const row = el("div", "msg msg-" + m.kind);
  row.dataset.key = m.key;
  if (m.ts) row.dataset.ts = m.ts;
  const who = m.kind === "typed" ? (window.PLAYGROUND.user || "you") : "Paylink";
  row.appendChild(el("div", "avatar" + (m.kind === "typed" ? " human" : ""), esc(who.slice(0, 1).toUpperCase())));
  const body = el("div", "msg-body");
  const head = el("div", "msg-head");
  head.appendChild(el("span", "msg-author", esc(who)));
  if (m.kind !== "typed") head.appendChild(el("span", "badge", "APP"));
  head.appendChild(el("span", "msg-time", esc(timeText(m.time || Date.now()))));
  if (m.edited) head.appendChild(el("span", "msg-edited", "(edited)"));
  if (m.kind === "ephemeral") head.appendChild(el("span", "msg-only-you", "Only visible to you"));
  if (m.kind === "dm") head.appendChild(el("span", "msg-only-you", "Direct message to you"));
  body.appendChild(head);
  if (m.kind === "typed") {
    body.appendChild(el("div", "msg-text typed-command", esc(m.text)));
    if (m.error) body.appendChild(el("div", "msg-error", esc(m.error)));
  } else if (m.blocks && m.blocks.length) {
    body.appendChild(blocksEl(m.blocks, m));
  } else {
    body.appendChild(el("div", "msg-text", mrkdwn(m.text || "")));
  }
  if (m.replies && m.replies.length) {
    const thread = el("div", "thread");
    thread.appendChild(el("div", "thread-count", m.replies.length + (m.replies.length === 1 ? " reply" : " replies")));
    for (const r of m.replies) {
      r.kind = r.kind || "message";
      thread.appendChild(messageEl(r));
    }
    body.appendChild(thread);
  }
  row.appendChild(body);
  return row;
}

function render(state) {
  names = state.names || {};
  const list = document.getElementById("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren();
  if (!state.items.length) list.appendChild(el("div", "empty", "No messages yet. Type a command below."));
  for (const m of state.items) list.appendChild(messageEl(m));
  if (atBottom) list.scrollTop = list.scrollHeight;
  renderView(state.view);
}

// renderView shows the form (views.open) as a modal.
function renderView(v) {
  const modal = document.getElementById("modal");
  if (!v) {
    modal.hidden = true;
    openView = -1;
    return;
  }
  if (openView === v.index) return; // keep what is being typed
  openView = v.index;
  const view = v.view || {};
  document.getElementById("modal-title").textContent = (view.title && view.title.text) || "";
  document.getElementById("modal-submit").textContent = (view.submit && view.submit.text) || "Submit";
  document.getElementById("modal-close").textContent = (view.close && view.close.text) || "Cancel";
  const body = document.getElementById("modal-body");
  body.replaceChildren();
  for (const b of view.blocks || []) {
    if (b.type !== "input") {
      body.appendChild(blocksEl([b], {}));
      continue;
    }
    const field = el("div", "field");
    field.dataset.blockId = b.block_id;
    const id = "f-" + b.block_id;
    const label = el("label", "", textHTML(b.label) + (b.optional ? ' <span class="optional">(optional)</span>' : ""));
    label.htmlFor = id;
    field.appendChild(label);
    const e = b.element || {};
    let input;
    if (e.type === "static_select") {
      input = el("select");
      const none = el("option", "", esc((e.placeholder && e.placeholder.text) || "Choose"));
      none.value = "";
      input.appendChild(none);
      for (const o of e.options || []) {
        const opt = el("option", "", esc((o.text && o.text.text) || o.value));
        opt.value = o.value;
        if (e.initial_option && e.initial_option.value === o.value) opt.selected = true;
        input.appendChild(opt);
      }
    } else {
      input = el(e.multiline ? "textarea" : "input");
      if (e.placeholder) input.placeholder = e.placeholder.text;
      if (e.max_length) input.maxLength = e.max_length;
      if (e.initial_value) input.value = e.initial_value;
    }
    input.id = id;
    input.name = b.block_id;
    field.appendChild(input);
    field.appendChild(el("div", "field-error"));
    body.appendChild(field);
  }
  modal.hidden = false;
  const first = body.querySelector("input, select, textarea");
  if (first) first.focus();
}

async function post(path, data) {
  const res = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(data)});
  let out = {};
  try { out = await res.json(); } catch (e) { out = {error: "HTTP " + res.status}; }
  poll(true);
  return out;
}

function showError(text) {
  document.getElementById("composer-error").textContent = text || "";
}

document.getElementById("composer").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const input = document.getElementById("message");
  const text = input.value.trim();
  if (!text) return;
  showError("");
  const res = await post("/api/command", {text});
  if (res.error && !res.status) {
    showError(res.error);
    return;
  }
  input.value = "";
});

document.getElementById("modal-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const values = {};
  for (const f of document.querySelectorAll("#modal-body .field")) {
    const input = f.querySelector("input, select, textarea");
    values[f.dataset.blockId] = input.value;
    f.querySelector(".field-error").textContent = "";
  }
  const res = await post("/api/submit", {index: openView, values});
  if (res.errors) {
    for (const [block, problem] of Object.entries(res.errors)) {
      const f = document.querySelector('#modal-body .field[data-block-id="' + CSS.escape(block) + '"]');
      if (f) f.querySelector(".field-error").textContent = problem;
    }
  }
});

document.getElementById("modal-close").addEventListener("click", () => post("/api/close", {index: openView}));

let timer = null;
async function poll(now) {
  clearTimeout(timer);
  if (now) await new Promise((r) => setTimeout(r, 150));
  try {
    const res = await fetch("/api/state", {cache: "no-store"});
    const text = await res.text();
    if (text !== lastState) {
      lastState = text;
      render(JSON.parse(text));
    }
  } catch (e) {
    showError("The playground is not answering: is paylink demo still running?");
  }
  timer = setTimeout(poll, 700);
}
poll();
