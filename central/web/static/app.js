// Driftvakt dashboard: live refresh of <main> over server-sent events, copy buttons,
// filters. No build step, no dependencies.
"use strict";
(function () {
  const main = document.getElementById("live");
  const status = document.getElementById("live-status");
  const topics = main ? (main.dataset.topics || "").split(" ").filter(Boolean) : [];
  let pending = false;
  let busy = false;

  function editing() {
    const el = document.activeElement;
    if (!el || !main.contains(el)) return false;
    return ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
  }

  // A control someone changed and has not sent yet: a refresh would lose it.
  function dirty() {
    for (const el of main.querySelectorAll("input, textarea, select")) {
      if (el.matches("[data-autosubmit], [type=hidden], [type=search]")) continue;
      if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked !== el.defaultChecked) return true;
      } else if (el.tagName === "SELECT") {
        for (const o of el.options) if (o.selected !== o.defaultSelected) return true;
      } else if (el.value !== el.defaultValue) {
        return true;
      }
    }
    return false;
  }

  function held() {
    return editing() || dirty() || !!main.querySelector("details[open] form");
  }

  async function refresh() {
    if (busy || held()) { pending = true; return; }
    busy = true; pending = false;
    try {
      const r = await fetch(location.href, { headers: { "X-Fragment": "1" }, credentials: "same-origin" });
      if (r.redirected || r.status === 401) { location.reload(); return; }
      const html = r.ok ? await r.text() : null;
      // Someone may have started typing or ticking while the page was on its way.
      if (held()) { pending = true; return; }
      if (html !== null) {
        const open = [...main.querySelectorAll("details[open][id]")].map((d) => d.id);
        main.innerHTML = html;
        for (const id of open) { const d = document.getElementById(id); if (d) d.open = true; }
        main.dispatchEvent(new Event("refreshed"));
      }
    } finally {
      busy = false;
      if (pending) setTimeout(refresh, 500);
    }
  }

  const retry = () => { if (pending) setTimeout(refresh, 300); };
  document.addEventListener("focusout", retry);
  document.addEventListener("change", retry);
  document.addEventListener("toggle", retry, true);

  if (main && topics.length && window.EventSource) {
    const source = new EventSource("/events");
    source.addEventListener("open", () => { if (status) status.className = "live-status on"; });
    source.addEventListener("error", () => { if (status) status.className = "live-status off"; });
    source.addEventListener("update", (e) => { if (topics.includes(e.data)) refresh(); });
    window.addEventListener("pagehide", () => source.close());
  }

  document.addEventListener("click", async (e) => {
    const button = e.target.closest("[data-copy]");
    if (!button) return;
    const area = document.getElementById(button.dataset.copy);
    if (!area) return;
    try {
      await navigator.clipboard.writeText(area.value);
    } catch (_) {
      area.select(); document.execCommand("copy");
    }
    button.textContent = "Kopierat ✓";
  });

  document.addEventListener("change", (e) => {
    if (e.target.matches("[data-autosubmit]")) e.target.form.submit();
  });

  document.addEventListener("input", (e) => {
    if (!e.target.matches("[data-filter]")) return;
    const list = document.querySelector(e.target.dataset.filter);
    const words = e.target.value.toLowerCase().trim();
    for (const li of list.querySelectorAll("[data-filter-text]")) {
      li.hidden = words !== "" && !li.dataset.filterText.includes(words);
    }
  });
})();
