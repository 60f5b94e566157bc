// semsearch ui: search as you type, keyboard navigation, the file view's scroll, the map's hover label.
// No framework, no build step. Text from the index is only ever set with textContent, never as HTML.
"use strict";

const DEBOUNCE_MS = 80;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function setupSearch() {
  const form = document.getElementById("search");
  const box = document.getElementById("q");
  const mode = document.getElementById("mode");
  const path = document.getElementById("path");
  const list = document.getElementById("results");
  const summary = document.getElementById("summary");
  const k = form.querySelector("input[name=k]");
  let timer = null;
  let latest = 0; // number of the newest request; older answers are dropped
  let controller = null;
  let selected = -1;
  let settled = true; // the cards answer what the boxes say now
  let openWhenReady = false; // Enter was pressed before the answer came: open its first card

  function cards() {
    return Array.from(list.querySelectorAll("li.card"));
  }

  function select(n) {
    const all = cards();
    if (!all.length) return;
    selected = Math.max(0, Math.min(n, all.length - 1));
    all.forEach((c, i) => c.classList.toggle("selected", i === selected));
    all[selected].scrollIntoView({ block: "nearest" });
  }

  function params() {
    const p = new URLSearchParams();
    p.set("q", box.value);
    if (mode.value !== mode.dataset.default) p.set("mode", mode.value);
    if (path.value.trim()) p.set("path", path.value.trim());
    if (k) p.set("k", k.value);
    return p;
  }

  function render(data) {
    list.replaceChildren();
    for (const hit of data.results) {
      const li = el("li", "card");
      const a = el("a", "hit");
      a.href = hit.url;
      const where = el("div", "where");
      where.append(el("span", "path", hit.path), " ", el("span", "lines", hit.lines), " ",
                   el("span", "score", hit.score === null ? "–" : hit.score.toFixed(3)));
      a.append(where);
      if (hit.heading) a.append(el("div", "heading", hit.heading));
      const snippet = el("p", "snippet");
      for (const [text, matched] of hit.snippet) {
        snippet.append(matched ? el("mark", null, text) : document.createTextNode(text));
      }
      a.append(snippet);
      li.append(a);
      if (hit.similar_url) {
        const similar = el("a", "similar", "similar");
        similar.href = hit.similar_url;
        li.append(similar);
      }
      list.append(li);
    }
    const n = data.results.length;
    summary.classList.remove("error");
    const found = n ? `${n} result${n === 1 ? "" : "s"}` : "No results (try other words, another mode, or a wider path)";
    summary.textContent = `${found} in ${Math.round(data.milliseconds)} ms`;
    selected = -1;
    if (n) select(0);
    settled = true;
    if (openWhenReady && n) window.location.href = cards()[0].querySelector("a").href;
    openWhenReady = false;
  }

  async function run() {
    clearTimeout(timer);
    const p = params();
    const mine = ++latest;
    history.replaceState(null, "", box.value ? "/?" + p.toString() : "/");
    document.title = box.value ? `${box.value} – semsearch` : "semsearch";
    if (controller) controller.abort();
    if (!box.value.trim()) {
      list.replaceChildren();
      summary.textContent = "";
      settled = true;
      openWhenReady = false;
      return;
    }
    controller = new AbortController();
    try {
      const response = await fetch("/api/search?" + p.toString(), { signal: controller.signal });
      const data = await response.json();
      if (mine !== latest) return; // a newer keystroke already asked again
      if (!response.ok) {
        openWhenReady = false;
        summary.textContent = data.error || `error ${response.status}`;
        summary.classList.add("error");
        list.replaceChildren();
        return;
      }
      render(data);
    } catch (err) {
      if (err.name === "AbortError" || mine !== latest) return;
      summary.textContent = "The search page's server does not answer: is `semsearch ui` still running?";
      summary.classList.add("error");
    }
  }

  function schedule() {
    settled = false;
    clearTimeout(timer);
    timer = setTimeout(run, DEBOUNCE_MS);
  }

  box.addEventListener("input", schedule);
  path.addEventListener("input", schedule);
  mode.addEventListener("change", () => {
    settled = false;
    run();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const all = cards();
    if (settled && all.length && selected >= 0) {
      window.location.href = all[selected].querySelector("a").href;
    } else {
      openWhenReady = true;
      run();
    }
  });
  form.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      select(selected + 1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      select(selected - 1);
    } else if (event.key === "Escape") {
      box.blur();
    }
  });
  document.addEventListener("keydown", (event) => {
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
    if (event.key === "/" && !typing) {
      event.preventDefault();
      box.focus();
      box.select();
    } else if (!typing && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      select(selected + (event.key === "ArrowDown" ? 1 : -1));
    } else if (!typing && event.key === "Enter" && selected >= 0) {
      window.location.href = cards()[selected].querySelector("a").href;
    }
  });
  if (cards().length) select(0); // results rendered by the server (a bookmarked search)
  box.focus();
  const end = box.value.length;
  box.setSelectionRange(end, end);
}

function setupFile() {
  const match = document.getElementById("match");
  if (match) match.scrollIntoView({ block: "center" });
  document.addEventListener("keydown", (event) => {
    if (event.key === "/" && !/^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName)) {
      event.preventDefault();
      const back = document.querySelector("nav.crumbs a");
      if (back) window.location.href = back.href;
    }
  });
}

function setupMap() {
  const caption = document.getElementById("map-caption");
  const map = document.getElementById("corpus-map");
  if (!map || !caption) return;
  map.addEventListener("mouseover", (event) => {
    const point = event.target.closest("a.pt");
    if (point) caption.textContent = point.dataset.label;
  });
  map.addEventListener("focusin", (event) => {
    const point = event.target.closest("a.pt");
    if (point) caption.textContent = point.dataset.label;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.body.classList.contains("search-page")) setupSearch();
  if (document.body.classList.contains("file-page")) setupFile();
  if (document.body.classList.contains("status-page")) setupMap();
});
