// The annotation form shell: keyboard-first, prefetching, safe to retry.
// Talks to /api/v1 with the session cookie and the CSRF token of the page.
// What an answer is belongs to the project's task kind: the shell loads the kind's
// widget module (root.dataset.widget, under static/kinds/) and sends what it submits.
// An item shows only once its picture is loaded (fetched while the previous item is on
// screen); until then the label keys do nothing, so no answer lands on the wrong picture.
// A suggestion (the model's, or imported) is drawn by the widget as if it were the
// annotator's answer; Enter accepts it, the usual keys change it.

import { createMedia } from "./annotate_media.js";

const root = document.getElementById("annotate");
if (root) start(root);

async function start(root) {
  const api = root.dataset.api;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);

  let current = null;      // the item on screen
  let prefetched = [];     // leased items waiting their turn
  let history = [];        // [{item, value}] answered in this tab, oldest first
  let backIndex = -1;      // >= 0 while changing an earlier label
  let resume = null;       // the live item to return to after a change
  let shownAt = performance.now();
  let chain = Promise.resolve();  // actions run one after another; no keystroke is dropped
  let ready = false;       // the item on screen is whole (its picture loaded): keys answer
  let suggested = null;    // the suggestion pre-selected for the item on screen, if any
  const media = createMedia($("item-media"));

  async function call(method, path, body) {
    const options = { method, headers: { "X-CSRFToken": csrf, Accept: "application/json" },
                      credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    for (let attempt = 0; ; attempt++) {
      let response;
      try {
        response = await fetch(api + path, options);
      } catch (error) {
        if (attempt >= 3) throw new Error("network error: " + error.message);
        status("Connection problem; retrying…", true);
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
        continue;
      }
      const data = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(data.error ? `${data.error}${data.detail ? ": " + JSON.stringify(data.detail) : ""}` : response.statusText);
      return data;
    }
  }

  function status(text, isError = false) {
    const el = $("status");
    el.textContent = text;
    el.classList.toggle("error", isError);
    el.hidden = !text;
  }

  function showProgress(progress) {
    if (!progress) return;
    $("session-count").textContent = progress.session_labeled;
    $("coverage").value = progress.coverage;
    $("coverage-text").textContent = (progress.coverage * 100).toFixed(1) + "%";
  }

  function render(item, myValue) {
    $("item").hidden = false;
    $("item-external-id").textContent = item.external_id;
    media.show(item);
    const box = $("item-fields");
    box.replaceChildren();
    box.hidden = Boolean(item.presentation);  // the kind's widget lays this item out itself
    const table = document.createElement("table");
    table.className = "record";
    for (const field of item.fields) {
      if (field.kind === "text" && widget.showsText?.(field.name, item)) continue;  // drawn by the widget
      if (field.kind === "text") {
        const wrap = document.createElement("section");
        wrap.className = "text-field";
        const title = document.createElement("h3");
        title.textContent = field.name;
        const body = document.createElement("div");
        body.className = "text-body";
        body.textContent = field.value === null ? "" : String(field.value);  // never innerHTML
        wrap.append(title, body);
        box.append(wrap);
      } else {
        const row = table.insertRow();
        row.insertCell().textContent = field.name;
        row.insertCell().textContent = field.value === null ? "—" : String(field.value);
      }
    }
    if (table.rows.length) box.append(table);
    const own = myValue === null || myValue === undefined ? undefined : myValue;
    suggested = own === undefined && backIndex < 0 && item.suggestion ? item.suggestion : null;
    widget.show(suggested ? suggested.value : own, item);
    const badge = $("item-suggestion");
    badge.hidden = !suggested;
    badge.textContent = suggested
      ? (suggested.source === "imported" ? "Imported suggestion" : "Model suggestion") + ": Enter accepts, your keys change it"
      : "";
    $("answer").classList.toggle("suggested", Boolean(suggested));
    $("item-mode").hidden = backIndex < 0;
    shownAt = performance.now();
    ready = true;
  }

  // Show `item` when its picture is ready; until then it stays hidden and keys are inert.
  function present(item, myValue) {
    ready = false;
    if (media.isReady(item)) { render(item, myValue); return; }
    $("item").hidden = true;
    status("Loading the picture…");
    media.load(item).then((ok) => {
      if (current !== item && backIndex < 0) return;  // moved on meanwhile
      if (!ok) { status(`The picture of item ${item.external_id} could not be loaded: skip it (s) or reload the page.`, true); return; }
      status("");
      render(item, myValue);
    });
  }

  function showDone() {
    current = null;
    $("item").hidden = true;
    status("No more items for you right now: everything is labeled or held by colleagues. Thank you!");
  }

  async function refill() {
    take(await call("GET", "/next?n=2"));
  }

  // The current item and the one after it, as GET /next?n=2 or a submit's "next" leased them.
  function take(data) {
    showProgress(data.progress);
    const seen = new Set(history.map((h) => h.item.id));
    if (current) seen.add(current.id);
    prefetched = data.items.filter((i) => !seen.has(i.id));
    for (const item of prefetched) media.load(item);  // fetched while this item is on screen
    if (!current && backIndex < 0) advance();
  }

  function advance() {
    current = prefetched.shift() || null;
    if (current) { status(""); present(current); } else { ready = false; showDone(); }
  }

  async function choose(value) {
    if (!ready) return;  // the item is not on screen yet: this answer is not about it
    const seconds = (performance.now() - shownAt) / 1000;
    if (backIndex >= 0) return change(value, seconds);
    if (!current) return;
    const item = current;
    const body = { value, seconds };
    if (suggested) body.suggestion = suggested;
    history.push({ item, value });
    advance();  // the prefetched item shows at once; saving happens meanwhile
    if (!current) status("Saving…");
    try {
      // one request a label: the submit also leases the next two (what refill would ask)
      take((await call("POST", `/items/${item.id}/annotation`, { ...body, next: 2 })).next);
    } catch (error) {
      status(`Your label for item ${item.external_id} was not saved: ${error.message}`, true);
    }
  }

  async function change(value, seconds) {
    const entry = history[backIndex];
    try {
      await call("POST", `/items/${entry.item.id}/annotation`, { value, seconds });
      entry.value = value;
      backIndex = -1;
      current = resume;
      resume = null;
      if (current) { status(""); present(current); } else { await refill(); }
    } catch (error) {
      status(`Could not change the label: ${error.message}`, true);
    }
  }

  async function back() {
    const target = backIndex < 0 ? history.length - 1 : backIndex - 1;
    if (target < 0) { status("Nothing earlier to go back to in this session."); return; }
    if (backIndex < 0) resume = current;
    backIndex = target;
    const entry = history[target];
    const fresh = await call("GET", `/items/${entry.item.id}`).catch(() => entry.item);
    status("");
    present(fresh, fresh.my_value ?? entry.value);
  }

  async function skip() {
    if (backIndex >= 0 || !current) return;
    const item = current;
    advance();
    try {
      await call("POST", `/items/${item.id}/skip`);
      await refill();
    } catch (error) {
      status(`Could not skip: ${error.message}`, true);
    }
  }

  const queued = (action) => (...args) => {
    chain = chain.then(() => action(...args)).catch((error) => status(error.message, true));
  };
  const onChoose = queued(choose);
  const onSkip = queued(skip);
  const onBack = queued(back);

  const { createWidget } = await import(root.dataset.widget);
  const widget = createWidget({
    container: $("answer"),
    labels: JSON.parse(root.dataset.labels),
    settings: JSON.parse(root.dataset.settings),
    submit: onChoose,
  });
  $("skip").addEventListener("click", onSkip);
  $("back").addEventListener("click", onBack);
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName)) return;
    if (event.key === "s") { event.preventDefault(); onSkip(); }
    else if (event.key === "b") { event.preventDefault(); onBack(); }
    else if (!ready) event.preventDefault();  // nothing answers before the item is whole
    else if (media.handleKey(event)) event.preventDefault();
    else if (widget.handleKey(event)) event.preventDefault();
    else if (event.key === "Enter" && suggested) { event.preventDefault(); onChoose(suggested.value); }
  });

  chain = refill().catch((error) => status(`Could not load items: ${error.message}`, true));
}
