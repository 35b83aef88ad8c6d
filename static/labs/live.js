// Live build panel: replays stored events and streams new ones over a websocket; reconnects by
// itself and resumes from the last seq it saw, so nothing is lost or shown twice.
(function () {
  "use strict";
  // Invisible direction controls reorder how a line is drawn (Trojan Source): wherever
  // Dockerfile text is shown, each is replaced by a visible marker such as ⟨U+202E⟩.
  const BIDI = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/g;
  const BIDI_NAMES = {
    0x202a: "LEFT-TO-RIGHT EMBEDDING", 0x202b: "RIGHT-TO-LEFT EMBEDDING", 0x202c: "POP DIRECTIONAL FORMATTING",
    0x202d: "LEFT-TO-RIGHT OVERRIDE", 0x202e: "RIGHT-TO-LEFT OVERRIDE", 0x2066: "LEFT-TO-RIGHT ISOLATE",
    0x2067: "RIGHT-TO-LEFT ISOLATE", 0x2068: "FIRST STRONG ISOLATE", 0x2069: "POP DIRECTIONAL ISOLATE",
    0x200e: "LEFT-TO-RIGHT MARK", 0x200f: "RIGHT-TO-LEFT MARK", 0x061c: "ARABIC LETTER MARK",
  };
  // Terminal escape codes (colours, titles, cursor moves): the server strips them; so does this.
  const ANSI = /\x1b\[[0-?]*[ -\/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b[ -\/]+[0-~]|\x1b[0-~]|\x9b[0-?]*[ -\/]*[@-~]|[\x1b\x9b]/g;
  const code = (ch) => "U+" + ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
  const markText = (text) => (text || "").replace(ANSI, "").replace(BIDI, (ch) => `\u27e8${code(ch)}\u27e9`);

  // Text with each direction control as a marker span that keeps the character it stands for.
  function visible(text) {
    const out = document.createDocumentFragment();
    let last = 0;
    const clean = (text || "").replace(ANSI, "");
    for (const m of clean.matchAll(BIDI)) {
      if (m.index > last) out.append(document.createTextNode(clean.slice(last, m.index)));
      const mark = document.createElement("span");
      mark.className = "bidi-mark";
      mark.dataset.char = m[0];
      mark.title = `${code(m[0])} ${BIDI_NAMES[m[0].codePointAt(0)]}`;
      mark.textContent = `\u27e8${code(m[0])}\u27e9`;
      out.append(mark);
      last = m.index + m[0].length;
    }
    if (last < clean.length) out.append(document.createTextNode(clean.slice(last)));
    return out;
  }

  function watchEditor() {
    const editor = document.getElementById("dockerfile");
    const warning = document.querySelector('[data-role="bidi-warning"]');
    if (!editor || !warning) return;
    const check = () => {
      const found = [];
      editor.value.split("\n").forEach((line, i) => {
        const chars = [...new Set(line.match(BIDI) || [])];
        if (chars.length) found.push(`${warning.dataset.line} ${i + 1}: ${chars.map((c) => `${code(c)} ${BIDI_NAMES[c.codePointAt(0)]}`).join(", ")}`);
      });
      warning.hidden = !found.length;
      warning.textContent = found.length ? `${warning.dataset.text} ${found.join("; ")}` : "";
    };
    editor.addEventListener("input", check);
    check();
  }
  watchEditor();

  const panel = document.getElementById("live");
  if (!panel) return;
  const $ = (role) => panel.querySelector(`[data-role="${role}"]`);
  const FINAL = new Set(["done", "failed", "error"]);
  const t = (key, fallback) => panel.dataset["i18n" + key] || fallback;
  const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
  // Fixed messages are shown in the page's language; anything else (a student's build error,
  // a policy message) as the server wrote it, in Korean where it sent a Korean text too.
  const message = (p) =>
    (p.message_code && panel.dataset["i18nMsg" + cap(p.message_code)]) || (lang === "ko" && p.message_ko) || p.message || "";
  let lastSeq = 0;
  let finished = false;
  let retry = 0;
  let socket = null;
  const steps = new Map();
  const stageOrder = new Map();

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function shown(tag, cls, text) {
    const node = el(tag, cls);
    node.append(visible(text));
    return node;
  }

  function humanSize(bytes) {
    if (bytes === null || bytes === undefined) return "";
    const mb = bytes / 1e6;
    return mb >= 1 ? `${mb.toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
  }

  const say = (o) => (lang === "ko" && o.message_ko) || o.message;

  // Warnings that do not stop the build (invisible characters, dropped --chmod bits, ONBUILD).
  function onNotices(notices) {
    const box = $("notices");
    if (!box || !notices || !notices.length) return;
    box.hidden = false;
    const list = box.querySelector("ul");
    list.replaceChildren();
    for (const n of notices) {
      const item = el("li", "notice");
      item.dataset.code = n.code;
      if (n.line) item.append(lineButton(n.line), " ");
      item.append(visible(say(n)));
      list.append(item);
    }
  }

  function onStatus(p) {
    onNotices(p.notices);
    const badge = $("status");
    badge.className = `status status-${p.status}`;
    badge.dataset.status = p.status;
    badge.textContent = t("Status" + cap(p.status), p.status);
    let text = message(p);
    if (p.status === "failed") text = (p.violations && p.violations.length) || p.code === "syntax" ? t("Refused", text) : t("BuildFailed", text);
    $("message").textContent = text;
    const mine = document.querySelector(`[data-history-status="${panel.dataset.submission}"]`);
    if (mine) {
      mine.className = `status status-${p.status}`;
      mine.textContent = t("Status" + cap(p.status), p.status);
    }
    if (p.status === "done") {
      const facts = $("facts");
      facts.hidden = false;
      facts.replaceChildren(
        el("span", "fact", `${humanSize(p.image_size)}`),
        el("span", "fact", `${p.layer_count} ${t("Layers", "layers")}`),
        el("span", "fact", `${p.build_seconds} s`),
      );
      facts.children[0].dataset.role = "image-size";
      facts.children[1].dataset.role = "layer-count";
    }
    if (p.status === "failed" || p.status === "error") {
      const box = $("failure");
      box.hidden = false;
      box.replaceChildren();
      if (p.line) {
        const link = lineButton(p.line);
        box.append(el("p", "failure-line"));
        box.lastChild.append(link);
      }
      if (p.violations && p.violations.length) for (const v of p.violations) box.append(shown("p", "violation", say(v)));
      else if (p.message) box.append(shown("p", "violation", say(p)));
      if (p.output && p.output.length) box.append(el("pre", "failure-output", markText(p.output.join("\n"))));
      if (p.line) {
        const row = document.getElementById(`L${p.line}`);
        if (row) row.classList.add("flagged");
      }
    }
    if (FINAL.has(p.status)) {
      const log = $("log");
      if (!log.textContent) log.textContent = t("NoOutput", "");
      finished = true;
      panel.dataset.finished = "true";
      if (socket) socket.close(1000);
    }
  }

  function onStep(p) {
    let row = steps.get(p.id);
    if (!row) {
      row = el("li", p.internal ? "step internal" : "step");
      row.dataset.step = p.id;
      if (!stageOrder.has(p.stage)) stageOrder.set(p.stage, stageOrder.size);
      // Stages build in parallel; list each stage's steps together, in Dockerfile order.
      row.dataset.key = p.index ? String(stageOrder.get(p.stage) * 1000 + p.index).padStart(7, "0") : "";
      steps.set(p.id, row);
      const list = $("steps");
      const after = row.dataset.key && [...list.children].find((n) => n.dataset.key && n.dataset.key > row.dataset.key);
      if (after) list.insertBefore(row, after);
      else list.append(row);
    }
    row.dataset.state = p.state;
    const where = p.index ? `[${p.stage ? p.stage + " " : ""}${p.index}/${p.total}] ` : "";
    const line = p.line ? ` (${t("Line", "line")} ${p.line})` : "";
    const state = p.state === "cached" ? t("Cached", "cached")
      : p.state === "done" ? `${t("StateDone", "done")} ${p.seconds ?? ""}s` : t("State" + cap(p.state), p.state);
    row.replaceChildren(shown("span", "step-name", `${where}${p.name}${line}`), el("span", `step-state state-${p.state}`, state));
  }

  function onLog(p) {
    const log = $("log");
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
    const text = p.lines.map((l) => markText(l.line)).join("\n") + "\n";
    log.append(document.createTextNode(text));
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  const lang = (document.documentElement.lang || "ko").startsWith("ko") ? "ko" : "en";
  const checks = new Map();

  // The graded text as it was, markers turned back into the characters they stand for.
  function rawText(node) {
    return [...node.childNodes].map((n) => (n.nodeType === Node.TEXT_NODE ? n.textContent
      : n.classList && n.classList.contains("bidi-mark") ? n.dataset.char : rawText(n))).join("");
  }

  function gradedText() {
    return [...panel.querySelectorAll('[data-role="dockerfile"] li')].map(rawText).join("\n");
  }

  function lineButton(line) {
    const link = el("button", "line-link", `${t("Line", "line")} ${line}`);
    link.type = "button";
    link.addEventListener("click", () => showLine(line));
    return link;
  }

  // Teaching text carries `code` and ```fenced``` examples: show them as code, never as HTML.
  function richText(tag, cls, text) {
    const node = el(tag, cls);
    const parts = (text || "").split("```");
    parts.forEach((part, i) => {
      if (i % 2 === 1) {
        node.append(el("pre", "example", part.replace(/^[a-z]*\n/, "")));
        return;
      }
      part.split("`").forEach((bit, j) => node.append(j % 2 ? el("code", null, bit) : document.createTextNode(bit)));
    });
    return node;
  }

  function showLine(line) {
    // The code editor (static/build/editor.js), when it holds the graded text, takes the cursor there.
    const cm = window.layerlabEditor;
    if (cm && cm.text().replace(/\n+$/, "") === gradedText().replace(/\n+$/, "")) {
      cm.goto(line);
      return;
    }
    const editor = document.getElementById("dockerfile");
    const sameText = editor && editor.value.replace(/\r\n/g, "\n").replace(/\n+$/, "") === gradedText().replace(/\n+$/, "");
    const row = sameText ? null : panel.querySelector(`[data-role="dockerfile"] #L${line}`) || document.getElementById(`L${line}`);
    if (row) {
      const box = row.closest("details");
      if (box) box.open = true;
      document.querySelectorAll(".dockerfile li.flagged-check").forEach((n) => n.classList.remove("flagged-check"));
      row.classList.add("flagged-check");
      row.scrollIntoView({ block: "center", behavior: "smooth" });
      return;
    }
    if (!editor) return;
    const lines = editor.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    editor.focus();
    editor.setSelectionRange(start, start + (lines[line - 1] || "").length);
  }

  function onCheck(p) {
    $("results").hidden = false;
    const box = panel.querySelector(`[data-category="${p.category}"]`);
    box.hidden = false;
    let item = checks.get(p.criterion);
    if (!item) {
      item = el("li", "check");
      item.dataset.criterion = p.criterion;
      checks.set(p.criterion, item);
      box.querySelector("ul").append(item);
    }
    item.dataset.verdict = p.verdict;
    const head = el("div", "check-head");
    head.append(
      el("span", `verdict verdict-${p.verdict}`, t("Verdict" + cap(p.verdict), p.verdict)),
      el("strong", "check-title", p.title[lang]),
    );
    if (p.required) head.append(el("span", "required-tag", t("Required", "required")));
    const pts = el("span", "check-points");
    pts.dataset.role = "points";
    head.append(pts);
    const detail = richText("p", "check-detail", p.detail[lang] || "");
    for (const line of p.lines || []) {
      detail.append(" ", lineButton(line));
      const row = document.getElementById(`L${line}`);
      if (row && p.verdict !== "pass") row.classList.add(`verdict-line-${p.verdict}`);
    }
    const more = el("details", "check-more");
    more.append(el("summary", null, `${t("Why", "Why it matters")} · ${t("Fix", "How to fix")}`));
    more.append(richText("div", "why", p.why[lang]), richText("div", "fix", p.fix[lang]));
    more.append(el("p", "anchors", [p.criterion, ...(p.anchors || [])].join(" · ")));
    item.replaceChildren(head, detail);
    if (p.verdict !== "pass") item.append(more);
  }

  function onScore(p) {
    const line = $("score");
    line.hidden = false;
    line.dataset.score = String(p.score);
    line.replaceChildren(el("span", "score-value", `${p.score.toFixed(1)} / 100`));
    if (p.capped) line.append(el("span", "score-capped", t("ScoreCapped", "")));
    if (p.failed_required && p.failed_required.length) {
      const names = p.failed_required.map((id) => {
        const item = checks.get(id);
        const title = item && item.querySelector(".check-title");
        return title ? title.textContent : id;
      });
      line.append(el("span", "score-required", `${t("RequiredFailed", "")} ${names.join(", ")}`));
    }
    for (const s of p.items) {
      const item = checks.get(s.criterion);
      const pts = item && item.querySelector('[data-role="points"]');
      if (pts) pts.textContent = `${s.points.toFixed(1)} / ${s.max_points.toFixed(1)} ${t("Points", "points")}`;
    }
  }

  function handle(msg) {
    if (typeof msg.seq !== "number" || msg.kind === "pong") return;
    if (msg.seq <= lastSeq) return;
    lastSeq = msg.seq;
    panel.dataset.lastSeq = String(lastSeq);
    if (msg.kind === "status") onStatus(msg.payload);
    else if (msg.kind === "step") onStep(msg.payload);
    else if (msg.kind === "log") onLog(msg.payload);
    else if (msg.kind === "check") onCheck(msg.payload);
    else if (msg.kind === "score") onScore(msg.payload);
    // Other scripts on the page (the editor's diagnostics, the layer bars, the history) follow
    // the same stream through this one event instead of opening sockets of their own.
    document.dispatchEvent(new CustomEvent("layerlab:event", {
      detail: { submission: Number(panel.dataset.submission), seq: msg.seq, kind: msg.kind, payload: msg.payload },
    }));
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}${panel.dataset.wsPath}?after=${lastSeq}`);
    const conn = $("conn");
    socket.onopen = () => { retry = 0; conn.hidden = true; panel.dataset.connected = "true"; };
    socket.onmessage = (e) => handle(JSON.parse(e.data));
    socket.onclose = (e) => {
      panel.dataset.connected = "false";
      if (finished || e.code === 4401 || e.code === 4403) return;
      conn.hidden = false;
      conn.textContent = t("Reconnecting", "Reconnecting…");
      const delay = Math.min(10000, 500 * 2 ** retry++);
      setTimeout(connect, delay);
    };
  }
  connect();
})();
