// The authoring editors. A textarea with data-preview-url is previewed as you type: its text is
// posted (debounced) to the server, which renders it with the lesson page's renderer and
// sanitises it (nh3), and the answer replaces the preview; Mermaid then draws its diagrams as on
// the lesson page. A form with data-validate-url sends its YAML fields (debounced) to the
// validators import_course runs and shows each problem beside its field, with its line.
(function () {
  "use strict";
  const DELAY = 300;
  const csrf = () => (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";

  function debounce(fn, ms) {
    let timer = null;
    return () => {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  function post(url, fields) {
    const body = new FormData();
    Object.entries(fields).forEach(([k, v]) => body.append(k, v));
    return fetch(url, {
      method: "POST",
      body,
      headers: { "X-CSRFToken": csrf() },
      credentials: "same-origin",
    });
  }

  if (window.mermaid) {
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "default" });
  }
  function drawDiagrams(root) {
    const nodes = [...root.querySelectorAll("pre.mermaid")];
    if (!window.mermaid || !nodes.length) return;
    window.mermaid.run({ nodes, suppressErrors: true }).catch(() => {});
  }

  function sizeLine(area) {
    const out = document.querySelector(`#${area.id} ~ [data-role="size"]`);
    if (!out || !area.dataset.maxBytes) return;
    const used = new TextEncoder().encode(area.value).length;
    const max = Number(area.dataset.maxBytes);
    out.textContent = area.dataset.i18nSize
      .replace("{used}", (used / 1024).toFixed(1))
      .replace("{max}", String(max / 1024));
    out.classList.toggle("error", used > max);
  }

  document.querySelectorAll("textarea[data-preview-url]").forEach((area) => {
    const target = document.getElementById(area.dataset.previewTarget);
    const status = area.dataset.previewStatus ? document.getElementById(area.dataset.previewStatus) : null;
    let sent = 0;
    let shown = 0;
    const update = async () => {
      const mine = ++sent;
      let answer;
      try {
        const response = await fetch(area.dataset.previewUrl, {
          method: "POST",
          body: new URLSearchParams({ text: area.value }),
          headers: { "X-CSRFToken": csrf() },
          credentials: "same-origin",
        });
        answer = await response.json();
      } catch (err) {
        return; // offline for a moment: the next keystroke tries again
      }
      if (mine < shown) return; // an older answer arriving late
      shown = mine;
      if (answer.error) {
        if (status) status.textContent = answer.error;
        return;
      }
      if (status) status.textContent = "";
      // The server's HTML is sanitised (nh3) exactly as the lesson page's is.
      const doc = new DOMParser().parseFromString(`<div>${answer.html}</div>`, "text/html");
      target.replaceChildren(...doc.body.firstChild.childNodes);
      target.dataset.previewSeq = String(mine);
      drawDiagrams(target);
    };
    area.addEventListener("input", debounce(update, DELAY));
    area.addEventListener("input", () => sizeLine(area));
    sizeLine(area);
    if (target && target.childElementCount) drawDiagrams(target);
    else if (target && area.value.trim()) update();
  });

  function gotoLine(area, line) {
    const lines = area.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    const end = start + (lines[line - 1] || "").length;
    area.focus();
    area.setSelectionRange(start, end);
    const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 20;
    area.scrollTop = Math.max(0, (line - 3) * lineHeight);
  }

  document.querySelectorAll("form[data-validate-url]").forEach((form) => {
    const fields = [...form.querySelectorAll("textarea[data-validate]")];
    const t = form.dataset;
    let sent = 0;
    let shown = 0;
    function show(area, problem) {
      const box = document.getElementById(`${area.dataset.validate}-problems`);
      // The box is a status region: it is rewritten (and so read out) only when what it says changes.
      const said = problem ? `${problem.line}:${problem.message}` : "valid";
      if (box.dataset.said === said) return;
      box.dataset.said = said;
      box.replaceChildren();
      area.setAttribute("aria-invalid", problem ? "true" : "false");
      const p = document.createElement("p");
      if (!problem) {
        p.className = "ok";
        p.dataset.role = "valid";
        p.textContent = t.i18nValid;
        box.append(p);
        return;
      }
      p.className = "error";
      p.dataset.role = "problem";
      p.dataset.line = problem.line || "";
      if (problem.line) {
        const where = document.createElement("span");
        where.className = "problem-line";
        where.textContent = t.i18nLine.replace("{line}", problem.line);
        p.append(where, " ");
      }
      p.append(problem.message);
      if (problem.line) {
        const go = document.createElement("button");
        go.type = "button";
        go.textContent = t.i18nGoto.replace("{line}", problem.line);
        go.addEventListener("click", () => gotoLine(area, problem.line));
        p.append(go);
      }
      box.append(p);
    }
    const check = async () => {
      const mine = ++sent;
      const values = {};
      fields.forEach((f) => (values[f.name] = f.value));
      let answer;
      try {
        answer = await (await post(t.validateUrl, values)).json();
      } catch (err) {
        return;
      }
      if (mine < shown) return;
      shown = mine;
      const byField = {};
      answer.problems.forEach((p) => (byField[`${p.field}_yaml`] = p));
      fields.forEach((f) => show(f, byField[f.name]));
      form.dataset.validatedSeq = String(mine);
    };
    const later = debounce(check, DELAY);
    fields.forEach((f) => f.addEventListener("input", later));
    form.querySelectorAll('[data-role="problem"][data-line]').forEach((p) => {
      const area = form.querySelector(`#id_${p.parentElement.dataset.problemsFor}`);
      const line = Number(p.dataset.line);
      if (!line) return;
      const go = document.createElement("button");
      go.type = "button";
      go.textContent = t.i18nGoto.replace("{line}", line);
      go.addEventListener("click", () => gotoLine(area, line));
      p.append(go);
    });
  });
})();
