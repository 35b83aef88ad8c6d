// The layer bars of a submission's image and each layer's files, fetched from the submission's
// layers endpoint: on load when the build is done, and when live.js reports the final status
// (layerlab:event). Everything from the image (paths, instructions) goes in as text, never HTML.
(() => {
  const section = document.querySelector('[data-role="layers"]');
  if (!section) return;
  const submission = Number(section.dataset.submission);
  let loaded = false;

  function t(key, values) {
    let text = section.dataset["i18n" + key] || key;
    for (const [k, v] of Object.entries(values || {})) text = text.replace(`%(${k})s`, String(v));
    return text;
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function size(bytes) {
    if (bytes === null || bytes === undefined) return "?";
    if (bytes < 1000) return `${bytes} B`;
    if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
    if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
    return `${(bytes / 1e9).toFixed(2)} GB`;
  }

  function bar(layer, largest) {
    const row = el("div", "layer-bar");
    row.setAttribute("aria-hidden", "true");
    const used = el("span", "bar-used");
    const wasted = el("span", "bar-wasted");
    const whole = largest ? (100 * layer.size) / largest : 0;
    const waste = layer.size ? Math.min(whole, (whole * (layer.wasted || 0)) / layer.size) : 0;
    used.style.width = `${Math.max(whole - waste, layer.size ? 0.5 : 0)}%`;
    wasted.style.width = `${waste}%`;
    row.append(used, wasted);
    return row;
  }

  function numbers(layer) {
    const parts = [size(layer.size)];
    if (layer.wasted) parts.push(t("Wasted", { size: size(layer.wasted) }));
    return el("span", "layer-numbers", parts.join(" · "));
  }

  function changes(layer) {
    const out = el("span", "layer-changes");
    const c = layer.changes || {};
    for (const kind of ["added", "modified", "removed"]) {
      if (!c[kind]) continue;
      out.append(el("span", `change change-${kind}`, `${c[kind]} ${t(cap(kind))}`), " ");
    }
    return out;
  }

  function cap(s) { return s.charAt(0).toUpperCase() + s.slice(1); }

  function studentLayer(layer, largest) {
    const item = el("li", "layer");
    item.dataset.layerIndex = String(layer.index);
    const head = el("div", "layer-head");
    head.append(el("code", "layer-instruction", layer.instruction || t("Layer", { n: layer.index + 1 })));
    if (layer.line) {
      const link = el("a", "layer-line", t("Line", { n: layer.line }));
      link.href = `#L${layer.line}`;
      head.append(" ", link);
    }
    item.append(head, bar(layer, largest));
    const foot = el("div", "layer-foot");
    foot.append(numbers(layer), changes(layer));
    const toggle = el("button", "layer-toggle", `${t("Files")} (${layer.files_total || 0})`);
    toggle.type = "button";
    toggle.dataset.role = "layer-files-toggle";
    toggle.setAttribute("aria-expanded", "false");
    const box = el("div", "layer-files");
    box.id = `layer-files-${submission}-${layer.index}`;
    box.hidden = true;
    toggle.setAttribute("aria-controls", box.id);
    toggle.addEventListener("click", () => openFiles(layer, toggle, box));
    foot.append(toggle);
    item.append(foot, box);
    return item;
  }

  function baseLayer(layer, largest) {
    const item = el("li", "layer base");
    item.dataset.layerIndex = String(layer.index);
    const head = el("div", "layer-head");
    head.append(el("span", "layer-instruction", t("BaseLayer", { n: layer.index + 1 })));
    item.append(head, bar(layer, largest));
    const foot = el("div", "layer-foot");
    foot.append(numbers(layer));
    item.append(foot);
    return item;
  }

  async function openFiles(layer, toggle, box) {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    box.hidden = !open;
    if (!open || box.dataset.loaded) return;
    box.replaceChildren(el("p", "hint", t("Loading")));
    const url = section.dataset.filesUrl.replace(/\/0\.json$/, `/${layer.index}.json`);
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      const data = await response.json();
      box.replaceChildren(...tree(data));
      box.dataset.loaded = "true";
    } catch (e) {
      box.replaceChildren(el("p", "error", t("LoadFailed")));
    }
  }

  // The kept files and the directories above them as nested <details>/<ul>: a directory is a
  // summary (name, bytes, files under it) that Enter or Space opens, as every <details> does.
  function tree(data) {
    const out = [];
    if (!data.files.length) return [el("p", "hint", t("NoFiles"))];
    if (data.trimmed > 0) {
      const note = el("p", "hint", t("Trimmed", { kept: data.files.length, total: data.files_total }));
      note.dataset.role = "layer-trimmed";
      out.push(note);
    }
    const dirs = new Map();
    const root = { children: new Map(), files: [], kept: 0 };
    for (const [path, bytes, files] of data.dirs) dirs.set(path, { path, bytes, total: files, children: new Map(), files: [], kept: 0 });
    const parentOf = (path) => {
      const cut = path.lastIndexOf("/");
      return cut > 0 ? dirs.get(path.slice(0, cut)) || root : root;
    };
    for (const dir of dirs.values()) parentOf(dir.path).children.set(dir.path, dir);
    for (const [path, bytes, change, kind] of data.files) {
      parentOf(path).files.push({ path, bytes, change, kind });
      for (let d = parentOf(path); d !== root; d = parentOf(d.path)) d.kept += 1;
    }
    const list = el("ul", "file-tree");
    list.dataset.role = "file-tree";
    fill(list, root, 0);
    out.push(list);
    return out;
  }

  function name(path) { return path.slice(path.lastIndexOf("/") + 1) || path; }

  function fill(list, dir, depth) {
    for (const child of [...dir.children.values()].sort((a, b) => a.path.localeCompare(b.path))) {
      const item = el("li", "dir");
      const details = el("details");
      if (depth < 1) details.open = true;
      const summary = el("summary");
      summary.append(el("span", "file-name", `${name(child.path)}/`), " ", el("span", "file-size", size(child.bytes)), " ",
        el("span", "meta", child.total === 1 ? t("DirFile") : t("DirFiles", { n: child.total })));
      if (child.total > child.kept) summary.append(" ", el("span", "meta", `(${t("Hidden", { n: child.total - child.kept })})`));
      details.append(summary);
      const inner = el("ul");
      fill(inner, child, depth + 1);
      details.append(inner);
      item.append(details);
      list.append(item);
    }
    for (const f of dir.files.sort((a, b) => a.path.localeCompare(b.path))) {
      const item = el("li", `file change-${f.change}`);
      item.dataset.change = f.change;
      item.append(el("span", `mark mark-${f.change}`, t(cap(f.change))), " ", el("span", "file-name", name(f.path)));
      if (f.change !== "removed") item.append(" ", el("span", "file-size", size(f.bytes)));
      list.append(item);
    }
  }

  function render(data) {
    const bars = section.querySelector('[data-role="layer-bars"]');
    const layers = data.layers || [];
    const base = (data.base && data.base.layers) || [];
    if (!layers.length && !base.length) {
      section.querySelector('[data-role="layers-summary"]').textContent = t("None");
      section.hidden = false;
      return;
    }
    const count = layers.length + base.length;
    section.querySelector('[data-role="layers-summary"]').textContent = t("Summary", { size: size(data.size), count, wasted: size(data.wasted) });
    const largest = Math.max(1, ...layers.map((l) => l.size));
    bars.replaceChildren(...layers.map((l) => studentLayer(l, largest)));
    const baseBox = section.querySelector('[data-role="base-layers"]');
    baseBox.hidden = !base.length;
    if (base.length) {
      const baseWasted = base.reduce((sum, l) => sum + (l.wasted || 0), 0);
      let said = t("Base", { ref: data.base.ref, count: base.length, size: size(data.base.size) });
      if (baseWasted) said += ` · ${t("Wasted", { size: size(baseWasted) })}`;
      section.querySelector('[data-role="base-summary"]').textContent = said;
      const baseLargest = Math.max(1, ...base.map((l) => l.size));
      baseBox.querySelector("ol").replaceChildren(...base.map((l) => baseLayer(l, baseLargest)));
    }
    section.querySelector('[data-role="yours-title"]').hidden = false;
    section.hidden = false;
    section.dataset.loaded = "true";
  }

  async function load() {
    if (loaded) return;
    loaded = true;
    try {
      const response = await fetch(section.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      render(await response.json());
    } catch (e) {
      loaded = false;
    }
  }

  if (section.dataset.status === "done") load();
  document.addEventListener("layerlab:event", (e) => {
    const d = e.detail || {};
    if (d.submission === submission && d.kind === "status" && d.payload && d.payload.status === "done") load();
  });
})();
