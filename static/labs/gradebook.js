// Live gradebook: a websocket tells which student's row changed and brings that row, rendered
// by the server from the database; it replaces the row in place. On every (re)connection the
// page asks for all rows again, so nothing missed while disconnected stays stale. Reconnects
// with backoff (1 s doubling to 30 s).
(function () {
  "use strict";
  const table = document.querySelector("[data-gradebook]");
  if (!table) return;
  const state = document.querySelector('[data-role="live-state"]');
  const body = table.tBodies[0];
  const lang = document.documentElement.lang || "";
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${location.host}${table.dataset.wsPath}?lang=${encodeURIComponent(lang)}`;
  let delay = 1000;

  function say(key) {
    if (state) state.textContent = state.dataset[key] || "";
  }

  function replaceRow(message) {
    const template = document.createElement("template");
    template.innerHTML = message.html.trim();
    const fresh = template.content.firstElementChild;
    if (!fresh) return;
    const old = body.querySelector(`tr[data-user-id="${message.user_id}"]`);
    if (old) {
      if (old.innerHTML === fresh.innerHTML) return;
      old.replaceWith(fresh);
    } else {
      const empty = body.querySelector("tr[data-empty]");
      if (empty) empty.remove();
      body.append(fresh);
    }
    fresh.classList.add("changed");
    setTimeout(() => fresh.classList.remove("changed"), 4000);
  }

  function connect() {
    const ws = new WebSocket(url);
    ws.addEventListener("open", () => {
      delay = 1000;
      say("textLive");
      ws.send(JSON.stringify({ type: "resync" }));
    });
    ws.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (message.type === "row") replaceRow(message);
    });
    ws.addEventListener("close", (event) => {
      if (event.code === 4401 || event.code === 4403) {
        say("textRefused");
        return;
      }
      say("textReconnecting");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }

  connect();
})();
