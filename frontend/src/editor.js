// The exercise page's code editor (CodeMirror 6), bundled by `npm run build` into
// static/build/editor.js. Progressive: the form's textareas stay (hidden) and are kept in sync,
// so the form posts as before and a page without this bundle still works.
import { EditorState } from "@codemirror/state";
import {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter,
  highlightSpecialChars, drawSelection,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { StreamLanguage, syntaxHighlighting, defaultHighlightStyle, indentOnInput } from "@codemirror/language";
import { dockerFile } from "@codemirror/legacy-modes/mode/dockerfile";
import { search, searchKeymap, highlightSelectionMatches } from "@codemirror/search";
import { lintGutter, setDiagnostics, forEachDiagnostic } from "@codemirror/lint";

(function () {
  "use strict";
  const area = document.getElementById("dockerfile");
  const dataNode = document.getElementById("editor-data");
  if (!area || !dataNode) return;
  const data = JSON.parse(dataNode.textContent);
  const i18n = document.querySelector('[data-role="editor-i18n"]').dataset;
  const lang = (document.documentElement.lang || "ko").startsWith("ko") ? "ko" : "en";
  const form = area.form;
  const ignoreArea = document.getElementById("dockerignore");
  const note = document.querySelector('[data-role="draft-note"]');
  const lintState = document.querySelector('[data-role="lint-state"]');
  const norm = (text) => (text || "").replace(/\r\n/g, "\n").replace(/\n+$/, "");
  const RANK = { error: 2, warning: 1 };

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // Teaching text carries `code` and ```fenced``` examples: shown as code, never as HTML.
  function richText(tag, cls, text) {
    const node = el(tag, cls);
    (text || "").split("```").forEach((part, i) => {
      if (i % 2 === 1) {
        node.append(el("pre", "example", part.replace(/^[a-z]*\n/, "")));
        return;
      }
      part.split("`").forEach((bit, j) => node.append(j % 2 ? el("code", null, bit) : document.createTextNode(bit)));
    });
    return node;
  }

  // One editor over one textarea: every change is written back and announced with an `input`
  // event (live.js's invisible-character warning listens to it).
  function mount(textarea, { labelId, describedBy, dockerfile, onChange }) {
    // contenteditable is focusable already; the explicit tabindex says so to checkers (axe's
    // scrollable-region-focusable looks for focusable content inside the editor's scroller).
    const attrs = { "aria-labelledby": labelId, tabindex: "0" };
    if (describedBy) attrs["aria-describedby"] = describedBy;
    const extensions = [
      lineNumbers(),
      highlightActiveLineGutter(),
      highlightSpecialChars(),
      history(),
      drawSelection(),
      indentOnInput(),
      highlightActiveLine(),
      highlightSelectionMatches(),
      search({ top: true }),
      syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
      // Tab indents; Escape then Tab leaves the editor (CodeMirror's own tab-focus escape).
      keymap.of([...defaultKeymap, ...historyKeymap, ...searchKeymap, indentWithTab]),
      EditorView.contentAttributes.of(attrs),
      EditorView.editorAttributes.of({ class: dockerfile ? "cm-dockerfile" : "cm-dockerignore" }),
      EditorView.updateListener.of((update) => {
        if (!update.docChanged) return;
        textarea.value = update.state.doc.toString();
        textarea.dispatchEvent(new Event("input", { bubbles: true }));
        onChange();
      }),
    ];
    if (dockerfile) extensions.push(StreamLanguage.define(dockerFile), lintGutter());
    const view = new EditorView({
      state: EditorState.create({ doc: textarea.value, extensions }),
    });
    textarea.after(view.dom);
    textarea.hidden = true;
    // The textarea's label now names the editor: a click on it puts the cursor in the editor.
    const label = document.querySelector(`label[for="${textarea.id}"]`);
    if (label) label.addEventListener("click", (e) => { e.preventDefault(); view.focus(); });
    return view;
  }

  const view = mount(area, { labelId: "dockerfile-label", dockerfile: true, onChange: changed });
  const ignoreView = ignoreArea
    ? mount(ignoreArea, {
      labelId: "dockerignore-label",
      describedBy: ignoreArea.getAttribute("aria-describedby"),
      dockerfile: false,
      onChange: changed,
    })
    : null;
  const text = () => view.state.doc.toString();
  const ignoreText = () => (ignoreView ? ignoreView.state.doc.toString() : "");

  function setText(target, value) {
    target.dispatch({ changes: { from: 0, to: target.state.doc.length, insert: value } });
  }

  // ---- Drafts: one per exercise (and assignment), in this browser's localStorage.
  const store = (() => { try { return window.localStorage; } catch (e) { return null; } })();
  let saveTimer = null;

  function saveDraft() {
    clearTimeout(saveTimer);
    saveTimer = null;
    if (!store) return;
    try {
      store.setItem(data.draft_key, JSON.stringify({ dockerfile: text(), dockerignore: ignoreText(), saved_at: new Date().toISOString() }));
    } catch (e) { /* storage full or refused: the form still holds the text */ }
  }

  function showNote(message) {
    if (!note) return;
    note.textContent = message;
    note.hidden = false;
  }

  function restoreDraft() {
    if (!store || data.posted) return; // a refused form shows the text just posted
    let draft = null;
    try { draft = JSON.parse(store.getItem(data.draft_key) || "null"); } catch (e) { return; }
    if (!draft || typeof draft.dockerfile !== "string") return;
    const differs = norm(draft.dockerfile) !== norm(text()) || (ignoreView && norm(draft.dockerignore) !== norm(ignoreText()));
    if (!differs) return;
    setText(view, draft.dockerfile);
    if (ignoreView && typeof draft.dockerignore === "string") setText(ignoreView, draft.dockerignore);
    const when = new Date(draft.saved_at);
    let shown = "";
    try {
      if (!isNaN(when)) shown = when.toLocaleString(lang === "ko" ? "ko-KR" : "en-GB", { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
    } catch (e) { shown = draft.saved_at; } // the note is said whatever the browser's dates can do
    showNote(i18n.restored.replace("{time}", shown));
  }

  // ---- "Restore starter": asks first, in a modal dialog whose Cancel has the focus.
  const restoreButton = document.querySelector('[data-role="restore-starter"]');
  const dialog = document.querySelector('[data-role="restore-dialog"]');
  function restoreStarter() {
    setText(view, data.starter);
    saveDraft();
    showNote(i18n.restoredStarter);
    view.focus();
  }
  if (restoreButton) {
    restoreButton.hidden = false;
    restoreButton.addEventListener("click", () => {
      if (dialog && typeof dialog.showModal === "function") {
        dialog.returnValue = "";
        dialog.showModal();
      } else if (window.confirm(document.getElementById("restore-title").textContent)) {
        restoreStarter();
      }
    });
  }
  if (dialog) {
    dialog.addEventListener("close", () => {
      if (dialog.returnValue === "restore") restoreStarter();
      else restoreButton.focus();
    });
  }

  // ---- Diagnostics: the graded ones (from the live panel's events) and the ones before
  // building (from the lint endpoint), kept apart by `source`; each set replaced on its own.
  const SOURCE = { graded: i18n.graded, before: i18n.beforeBuild };

  function renderFindings(source, findings) {
    return () => {
      const box = el("div", `lint-findings lint-${source === SOURCE.before ? "before" : "graded"}`);
      for (const f of findings) {
        const item = el("div", "lint-finding");
        item.append(el("strong", "lint-title", f.title));
        if (f.detail) item.append(richText("p", "lint-detail", f.detail));
        if (f.why) { item.append(el("p", "lint-label", i18n.why)); item.append(richText("div", "lint-why", f.why)); }
        if (f.fix) { item.append(el("p", "lint-label", i18n.fix)); item.append(richText("div", "lint-fix", f.fix)); }
        box.append(item);
      }
      return box;
    };
  }

  // One diagnostic per line and source: the worst severity wins, every finding is listed.
  function diagnosticsFor(source, findings) {
    const byLine = new Map();
    const doc = view.state.doc;
    for (const f of findings) {
      for (const n of f.lines) {
        if (!Number.isInteger(n) || n < 1 || n > doc.lines) continue;
        const entry = byLine.get(n) || { severity: "warning", findings: [] };
        if (RANK[f.severity] > RANK[entry.severity]) entry.severity = f.severity;
        entry.findings.push(f);
        byLine.set(n, entry);
      }
    }
    return [...byLine.entries()].sort((a, b) => a[0] - b[0]).map(([n, entry]) => {
      const line = doc.line(n);
      return {
        from: line.from,
        to: line.to,
        severity: entry.severity,
        source,
        markClass: source === SOURCE.before ? "cm-lint-before" : "cm-lint-graded",
        message: entry.findings.map((f) => `${f.title}: ${f.detail}`).join("\n"),
        renderMessage: renderFindings(source, entry.findings),
      };
    });
  }

  // Replaces one source's diagnostics and keeps the other's where CodeMirror has mapped them.
  function replaceDiagnostics(source, fresh) {
    const kept = [];
    forEachDiagnostic(view.state, (d, from, to) => {
      if (d.source !== source) kept.push({ ...d, from, to });
    });
    view.dispatch(setDiagnostics(view.state, [...kept, ...fresh].sort((a, b) => a.from - b.from)));
  }

  const pick = (o) => (o && (o[lang] || o.en)) || "";
  const finding = (p) => ({
    severity: p.verdict === "fail" ? "error" : "warning",
    lines: p.lines || [],
    title: pick(p.title),
    detail: pick(p.detail),
    why: pick(p.why),
    fix: pick(p.fix),
  });
  const counts = (p) => (p.verdict === "fail" || p.verdict === "partial") && p.lines && p.lines.length;

  // Graded findings, by criterion; shown only while the editor holds the graded text.
  const graded = new Map();
  function onLive(e) {
    const { submission, kind, payload } = e.detail || {};
    if (!data.graded || submission !== data.graded.submission || !payload) return;
    if (kind === "check") {
      if (counts(payload)) graded.set(`check:${payload.criterion}`, finding(payload));
      else graded.delete(`check:${payload.criterion}`);
    } else if (kind === "status" && (payload.status === "failed" || payload.status === "error")) {
      const say = (o) => (lang === "ko" && o.message_ko) || o.message || "";
      const title = say(payload).split("\n")[0];
      if (payload.violations && payload.violations.length) {
        payload.violations.forEach((v, i) => {
          if (v.line) graded.set(`violation:${i}`, { severity: "error", lines: [v.line], title: say(v), detail: "", why: "", fix: "" });
        });
      } else if (payload.line) {
        graded.set("status", { severity: "error", lines: [payload.line], title, detail: "", why: "", fix: "" });
      }
    } else {
      return;
    }
    if (norm(text()) !== norm(data.graded.dockerfile)) return; // edited since: keep what was mapped
    replaceDiagnostics(SOURCE.graded, diagnosticsFor(SOURCE.graded, [...graded.values()]));
  }
  document.addEventListener("layerlab:event", onLive);

  // ---- Findings before building, debounced; never in the way of typing.
  let lintTimer = null;
  let lintAbort = null;
  const csrf = form && form.querySelector('input[name="csrfmiddlewaretoken"]');

  function lintSay(message) {
    if (!lintState) return;
    lintState.textContent = message;
    lintState.hidden = !message;
  }

  async function lintNow() {
    lintTimer = null;
    if (lintAbort) lintAbort.abort();
    lintAbort = new AbortController();
    const sent = text();
    const body = new URLSearchParams({ dockerfile: sent, dockerignore: ignoreText() });
    let answer;
    try {
      const res = await fetch(data.lint_url, {
        method: "POST",
        body,
        signal: lintAbort.signal,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf ? csrf.value : "", Accept: "application/json" },
      });
      answer = await res.json().catch(() => ({}));
      if (!res.ok) {
        lintSay(res.status === 429 || res.status === 413 ? answer.error || i18n.lintError : i18n.lintError);
        lintState.dataset.state = "error";
        return;
      }
    } catch (e) {
      if (e.name !== "AbortError") { lintSay(i18n.lintError); lintState.dataset.state = "error"; }
      return;
    }
    if (text() !== sent) return; // typed since: the next check is on its way
    const shown = (answer.findings || []).filter(counts).map(finding);
    replaceDiagnostics(SOURCE.before, diagnosticsFor(SOURCE.before, shown));
    lintState.dataset.state = "ok";
    lintState.dataset.count = String(shown.length);
    lintSay(shown.length ? i18n.lintFound.replace("{count}", shown.length) : i18n.lintNone);
  }

  function changed() {
    if (!saveTimer) saveTimer = setTimeout(saveDraft, 300);
    clearTimeout(lintTimer);
    if (data.lint_url) lintTimer = setTimeout(lintNow, 700);
  }

  restoreDraft();
  window.addEventListener("pagehide", () => { if (saveTimer) saveDraft(); });
  if (form) form.addEventListener("submit", saveDraft);
  // A text the panel does not already grade gets its findings before building at once.
  if (!data.graded || norm(data.graded.dockerfile) !== norm(text())) {
    clearTimeout(lintTimer);
    lintTimer = setTimeout(lintNow, 0);
  }

  window.layerlabEditor = {
    view,
    text,
    dockerignore: ignoreText,
    setText: (value) => setText(view, value),
    // The cursor to the start of `line`, the line selected, scrolled into view, the editor focused.
    goto(line) {
      const n = Math.min(Math.max(1, Number(line) || 1), view.state.doc.lines);
      const target = view.state.doc.line(n);
      view.dispatch({
        selection: { anchor: target.to, head: target.from },
        effects: EditorView.scrollIntoView(target.from, { y: "center" }),
      });
      view.focus();
      view.dom.scrollIntoView({ block: "nearest" });
    },
    diagnostics() {
      const out = [];
      forEachDiagnostic(view.state, (d, from) => out.push({ line: view.state.doc.lineAt(from).number, severity: d.severity, source: d.source, message: d.message }));
      return out;
    },
  };
})();
