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
  // Terminal escape codes (colours, titles, cursor moves). The server keeps only SGR colour and
  // bold codes in log lines (sandbox/ansi.py); the log draws those as a fixed set of classes and
  // every other sequence, here and everywhere else, is dropped.
  const ANSI = /\x1b\[[0-?]*[ -\/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b[ -\/]+[0-~]|\x1b[0-~]|\x9b[0-?]*[ -\/]*[@-~]|[\x1b\x9b]/g;
  const SGR = /^\x1b\[([0-9;]{0,64})m$/;
  const isForeground = (n) => (n >= 30 && n <= 37) || (n >= 90 && n <= 97);

  // One line of log text as segments [{text, cls}], the classes drawn from kept SGR codes only:
  // the same small set (bold, sixteen foregrounds) and the same reading as sandbox/ansi.py.
  function colourSegments(text) {
    const segs = [];
    let bold = false;
    let fg = null;
    let last = 0;
    const push = (piece) => {
      if (!piece) return;
      const cls = [bold ? "ansi-bold" : "", fg !== null ? `ansi-fg-${fg}` : ""].filter(Boolean).join(" ");
      const prev = segs[segs.length - 1];
      if (prev && prev.cls === cls) prev.text += piece;
      else segs.push({ text: piece, cls });
    };
    for (const m of (text || "").matchAll(ANSI)) {
      push(text.slice(last, m.index));
      last = m.index + m[0].length;
      const sgr = SGR.exec(m[0]);
      if (!sgr) continue;
      const parts = sgr[1] === "" ? ["0"] : sgr[1].split(";");
      if (parts.length > 16 || parts.some((x) => x.length > 3)) continue;
      for (let i = 0; i < parts.length; i++) {
        const n = parts[i] === "" ? 0 : Number(parts[i]);
        if (n === 38 || n === 48 || n === 58) {
          if (parts[i + 1] === "5") { i += 2; continue; }
          if (parts[i + 1] === "2") { i += 4; continue; }
          break;
        }
        if (n === 0) { bold = false; fg = null; }
        else if (n === 1) bold = true;
        else if (n === 22) bold = false;
        else if (n === 39) fg = null;
        else if (isForeground(n)) fg = n;
      }
    }
    push((text || "").slice(last));
    return segs;
  }
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

  // "{n} layers" and the like: the template renders each gettext plural form with its {name}
  // placeholders (data-i18n-<key>-one / -other); the page's language rules pick the form.
  const rules = new Intl.PluralRules(document.documentElement.lang || "ko");
  const fill = (text, vars) => text.replace(/\{(\w+)\}/g, (all, name) => (name in vars ? String(vars[name]) : all));
  const format = (key, vars) => fill(t(key, ""), vars);
  const plural = (key, count, vars) => {
    const one = panel.dataset[`i18n${key}One`];
    const other = panel.dataset[`i18n${key}Other`] || one || "";
    return fill(rules.select(count) === "one" && one ? one : other, { n: count, ...vars });
  };

  function humanSize(bytes) {
    if (bytes === null || bytes === undefined) return "";
    const mb = bytes / 1e6;
    return mb >= 1 ? `${mb.toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
  }

  // Every duration in the panel the same way: a step's time, the whole build's.
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds < 60) return format("Seconds", { s: seconds.toFixed(1) });
    const whole = Math.round(seconds);
    return format("Minutes", { m: Math.floor(whole / 60), s: String(whole % 60).padStart(2, "0") });
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

  // Only what a student waits for is spoken: a new status with its message, and the score
  // with the final one. Steps and log lines are never announced.
  const announcer = $("announce");
  const startedFinished = FINAL.has($("status").dataset.status);
  let announced = "";
  let lastScore = null;
  function announce(text) {
    if (!announcer || startedFinished || !text || text === announced) return;
    announced = text;
    announcer.textContent = text;
  }

  function onStatus(p) {
    onNotices(p.notices);
    const badge = $("status");
    // Refused before building: no step of the build ever started.
    const notBuilt = p.status === "failed" && !builtAnything();
    badge.className = `status status-${p.status}`;
    badge.dataset.status = p.status;
    badge.textContent = notBuilt ? t("NotBuilt", "Not built") : t("Status" + cap(p.status), p.status);
    let text = message(p);
    if (p.status === "failed") text = notBuilt ? t("Refused", text) : t("BuildFailed", text);
    $("message").textContent = text;
    const mine = document.querySelector(`[data-history-status="${panel.dataset.submission}"]`);
    if (mine) {
      mine.className = `status status-${p.status}`;
      mine.textContent = t("Status" + cap(p.status), p.status);
    }
    if (p.status === "done") {
      const facts = $("facts");
      facts.hidden = false;
      const size = el("span", "fact", humanSize(p.image_size));
      size.dataset.role = "image-size";
      size.title = t("ImageSize", "");
      const layers = el("span", "fact", plural("Layers", p.layer_count));
      layers.dataset.role = "layer-count";
      const time = el("span", "fact", format("BuiltIn", { t: duration(p.build_seconds) }));
      time.dataset.role = "build-time";
      facts.replaceChildren(size, layers, time);
    }
    if (p.status === "failed" || p.status === "error") {
      const box = $("failure");
      box.hidden = false;
      box.replaceChildren();
      const failed = failedStep();
      if (failed) {
        const where = el("p", "failure-step");
        where.dataset.role = "failed-step";
        where.append(visible(format("FailedAt", { n: failed.order, m: plan.total, name: failed.name })));
        box.append(where);
      }
      if (p.violations && p.violations.length) {
        const list = el("ul", "violations");
        for (const v of p.violations) {
          const item = el("li", "violation");
          if (v.line) item.append(lineButton(v.line), " ");
          item.append(visible(say(v)));
          list.append(item);
        }
        box.append(list);
      } else {
        if (p.line) {
          const where = el("p", "failure-line");
          where.append(lineButton(p.line));
          box.append(where);
        }
        if (p.message) box.append(shown("p", "violation", say(p)));
      }
      if (p.output && p.output.length) box.append(el("pre", "failure-output", markText(p.output.join("\n"))));
      if (p.line) {
        const row = document.getElementById(`L${p.line}`);
        if (row) row.classList.add("flagged");
      }
    }
    // A build that worked is judged by its results: its log folds away (one click opens it).
    if (p.status === "done") $("log-section").open = false;
    if (FINAL.has(p.status)) {
      finished = true;
      panel.dataset.finished = "true";
      for (const row of plan.rows.values()) if (row.dataset.state === "waiting") setState(row, "notrun", null);
      updateProgress();
      if (socket) socket.close(1000);
    }
    const spoken = [text ? `${badge.textContent}:` : badge.textContent, text];
    if (p.status === "done" && lastScore !== null) spoken.push(lastScore);
    announce(spoken.filter(Boolean).join(" "));
  }

  // Build steps. The worker announces the steps that will run first (state "waiting", each
  // with its `order` among `steps`, in Dockerfile order); each then runs, or comes from the
  // cache, under the same id. BuildKit's own vertices (loading the context, exporting) are no
  // step a student wrote: they are not listed or counted.
  const plan = { total: 0, rows: new Map(), stages: new Map() };
  const STATES = { waiting: "Waiting", running: "Running", done: "Done", cached: "Cached", error: "Failed", canceled: "Canceled", notrun: "NotRun" };

  const builtAnything = () => plan.rows.size > 0 || sawVertex;
  let sawVertex = false;

  function failedStep() {
    for (const row of plan.rows.values()) if (row.dataset.state === "error") return { order: Number(row.dataset.order), name: row.dataset.name };
    return null;
  }

  function stageList(p) {
    const key = p.stage || "";
    let group = plan.stages.get(key);
    if (group) return group;
    group = el("li", "stage");
    group.dataset.stage = key;
    group.dataset.first = String(p.order || 0);
    const named = key && !/^stage-\d+$/.test(key);
    const title = el("p", "stage-name", key ? (named ? format("StageNamed", { name: key }) : format("StageNumber", { n: Number(key.slice(6)) + 1 })) : "");
    title.hidden = !key;
    group.append(title, el("ol", "stage-steps"));
    plan.stages.set(key, group);
    const list = $("steps");
    // Stages build in parallel and report in any order: each stays where the Dockerfile has it.
    const after = [...list.children].find((n) => Number(n.dataset.first) > Number(group.dataset.first));
    list.insertBefore(group, after || null);
    return group;
  }

  function setState(row, state, seconds) {
    row.dataset.state = state;
    const label = t("State" + (STATES[state] || cap(state)), state.toUpperCase());
    const box = row.querySelector(".step-state");
    box.className = `step-state state-${state}`;
    box.textContent = state === "done" && seconds !== null && seconds !== undefined ? `${label} ${duration(seconds)}` : label;
    row.classList.toggle("running", state === "running");
  }

  function onStep(p) {
    if (p.internal) {
      sawVertex = true;
      return;
    }
    $("build").hidden = false;
    let row = plan.rows.get(p.id);
    if (!row) {
      row = el("li", "step");
      row.dataset.step = p.id;
      row.dataset.order = String(p.order || plan.rows.size + 1);
      row.dataset.name = p.name;
      const no = el("span", "step-no", row.dataset.order);
      const name = shown("span", "step-name", `${p.name}${p.line ? ` (${t("Line", "line")} ${p.line})` : ""}`);
      row.append(no, name, el("span", "step-state"));
      plan.rows.set(p.id, row);
      if (p.steps) plan.total = p.steps;
      else plan.total = Math.max(plan.total, plan.rows.size);
      const list = stageList(p).querySelector("ol");
      const after = [...list.children].find((n) => Number(n.dataset.order) > Number(row.dataset.order));
      list.insertBefore(row, after || null);
    }
    sawVertex = sawVertex || p.state !== "waiting";
    setState(row, p.state, p.seconds);
    updateProgress();
  }

  function updateProgress() {
    const rows = [...plan.rows.values()];
    const done = rows.filter((r) => r.dataset.state === "done" || r.dataset.state === "cached").length;
    const bar = $("progress");
    bar.max = Math.max(1, plan.total);
    bar.value = done;
    let text = plural("StepsDone", plan.total, { done, m: plan.total });
    const failed = failedStep();
    if (failed) text += ` · ${format("StepFailed", { n: failed.order })}`;
    else {
      const running = rows.filter((r) => r.dataset.state === "running").map((r) => r.dataset.order);
      if (running.length) text += ` · ${format("StepRunning", { n: running.join(", ") })}`;
    }
    $("progress-text").textContent = text;
    bar.setAttribute("aria-valuetext", text);
  }

  // The log: one element per line, tagged with the number of the step that printed it; lines
  // can be searched and narrowed to one step.
  const logLines = [];
  const stepLines = new Map();
  const search = { query: "", step: null, hits: [], at: -1 };

  function drawLine(entry) {
    const q = search.query;
    const node = entry.node;
    const ranges = [];
    if (q && entry.lower.length === entry.plain.length) {
      for (let i = entry.lower.indexOf(q); i >= 0 && ranges.length < 100; i = entry.lower.indexOf(q, i + q.length)) ranges.push([i, i + q.length]);
    }
    node.replaceChildren();
    let pos = 0;
    for (const seg of entry.segs) {
      const holder = seg.cls ? el("span", seg.cls) : document.createDocumentFragment();
      const end = pos + seg.text.length;
      let cur = pos;
      for (const [a, b] of ranges) {
        if (b <= cur || a >= end) continue;
        if (a > cur) holder.append(visible(entry.plain.slice(cur, a)));
        const hit = el("mark", "log-hit");
        hit.append(visible(entry.plain.slice(Math.max(a, cur), Math.min(b, end))));
        holder.append(hit);
        cur = Math.min(b, end);
      }
      if (cur < end) holder.append(visible(entry.plain.slice(cur, end)));
      node.append(holder);
      pos = end;
    }
    node.append("\n");
    entry.marked = ranges.length > 0;
  }

  function shows(entry) {
    return (!search.step || entry.step === search.step) && (!search.query || entry.lower.includes(search.query));
  }

  function place(entry) {
    const show = shows(entry);
    entry.node.hidden = !show;
    if ((show && search.query) || entry.marked) drawLine(entry);
    if (show && search.query) search.hits.push(entry);
  }

  function refilter() {
    search.hits = [];
    search.at = -1;
    panel.querySelectorAll(".log-line.current").forEach((n) => n.classList.remove("current"));
    for (const entry of logLines) place(entry);
    countLines();
  }

  function countLines() {
    const total = logLines.length;
    const shown = search.query || search.step ? logLines.filter((e) => !e.node.hidden).length : total;
    let text = search.query || search.step ? plural("LinesShown", total, { k: shown }) : plural("Lines", total);
    if (search.step) text += ` · ${format("OnlyStep", { n: plan.rows.get(search.step)?.dataset.order || "?" })}`;
    $("log-count").textContent = text;
    $("log-all").hidden = !search.step;
  }

  function pickStep(id) {
    search.step = search.step === id ? null : id;
    $("log-section").open = true;
    for (const [key, row] of plan.rows) {
      const b = row.querySelector(".step-log");
      if (b) b.setAttribute("aria-pressed", String(key === search.step));
    }
    refilter();
  }

  function stepLogButton(id) {
    const row = plan.rows.get(id);
    if (!row) return;
    let button = row.querySelector(".step-log");
    if (!button) {
      button = el("button", "step-log");
      button.type = "button";
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", () => pickStep(id));
      row.append(button);
    }
    const n = stepLines.get(id) || 0;
    button.textContent = plural("StepLines", n);
    button.setAttribute("aria-label", `${plural("StepLines", n)}: ${format("StepNumber", { n: row.dataset.order })}`);
  }

  function onLog(p) {
    const log = $("log");
    $("log-section").hidden = false;
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
    const touched = new Set();
    for (const l of p.lines) {
      const segs = colourSegments(l.line);
      const plain = segs.map((s) => s.text).join("");
      const node = el("span", "log-line");
      const row = plan.rows.get(l.step);
      node.dataset.step = l.step || "";
      node.dataset.no = row ? row.dataset.order : "";
      if (row) node.title = row.dataset.name;
      if (l.truncated) node.classList.add("log-note");
      const entry = { node, segs, plain, lower: plain.toLowerCase(), step: l.step, marked: false };
      drawLine(entry);
      logLines.push(entry);
      log.append(node);
      place(entry);
      if (row) {
        stepLines.set(l.step, (stepLines.get(l.step) || 0) + 1);
        touched.add(l.step);
      }
    }
    for (const id of touched) stepLogButton(id);
    countLines();
    if (atBottom && !search.query && !search.step) log.scrollTop = log.scrollHeight;
  }

  function wireSearch() {
    const input = $("log-search");
    if (!input) return;
    input.addEventListener("input", () => {
      search.query = input.value.trim().toLowerCase().slice(0, 200);
      refilter();
    });
    // Enter goes to the next matching line, Shift+Enter to the one before, Escape clears.
    input.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && input.value) {
        input.value = "";
        search.query = "";
        refilter();
        e.preventDefault();
        return;
      }
      if (e.key !== "Enter" || !search.hits.length) return;
      e.preventDefault();
      const prev = search.hits[search.at];
      if (prev) prev.node.classList.remove("current");
      search.at = (search.at + (e.shiftKey ? -1 : 1) + search.hits.length) % search.hits.length;
      const hit = search.hits[search.at].node;
      hit.classList.add("current");
      const log = $("log");
      log.scrollTop = hit.offsetTop - log.offsetTop - log.clientHeight / 2;
      $("log-count").textContent = `${format("Match", { i: search.at + 1, k: search.hits.length })}`;
    });
    $("log-all").addEventListener("click", () => pickStep(search.step));
  }
  wireSearch();

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
    lastScore = format("ScoreSpoken", { s: p.score.toFixed(1) });
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
