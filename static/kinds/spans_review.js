// The review page's part for span projects (templates/review/controls/spans.html): one row per
// annotator with their spans marked over the same text, a consensus row, and the span
// widget (spans.js) as the reviewer's editor for the final spans.
//
// Keyboard (before static/review.js sees the key): 1–9 load that annotator's spans into
// the editor, c loads the consensus, the widget's keys edit (arrows, shift+arrows, a
// label's hotkey, Delete), Enter resolves with the editor's spans. A label's hotkey wins
// over these and over review.js's s / m / b, as on the shared review form. Everything is
// drawn with textContent and classes (strict CSP).

const root = document.getElementById("span-review");
if (root) start(root);

async function start(root) {
  const { createWidget, labelColours } = await import(root.dataset.widget);
  const read = (name) => JSON.parse(root.dataset[name]);
  const labels = read("labels");
  const settings = read("settings");
  const fields = read("fields");
  const annotators = read("votes");
  const values = read("values");
  const consensus = read("consensus");
  const colour = labelColours(labels, settings);
  const form = root.closest("form");
  const hotkeys = new Set(labels.map((l) => l.hotkey).filter(Boolean));

  const item = { fields };
  const name = settings.text_field || (fields.find((f) => f.kind === "text") || {}).name;
  const field = fields.find((f) => f.name === name);
  const points = Array.from(field && field.value !== null ? String(field.value) : "");
  const inConsensus = new Set((consensus || []).map(spanKey));

  const rows = document.getElementById("span-rows");
  const drawn = annotators.map((who, i) =>
    row(i < 9 ? String(i + 1) : "", who, values[i], `Use ${who}'s spans`, "span-vote"));
  if (consensus !== null) drawn.push(row("c", "consensus", consensus, "Use the consensus", "span-consensus"));
  rows.replaceChildren(...drawn);

  let sent = false;
  const widget = createWidget({
    container: document.getElementById("span-editor"),
    labels,
    settings,
    submit(spans) {
      if (sent) return;
      sent = true;
      document.getElementById("span-value").value = JSON.stringify(spans);
      form.requestSubmit(document.getElementById("span-resolve"));
    },
  });
  widget.show(consensus || [], item);
  form.addEventListener("submit", () => { sent = true; });

  function load(spans) {
    widget.show(Array.isArray(spans) ? spans : [], item);
  }

  function row(key, who, spans, action, cls) {
    const wrap = document.createElement("div");
    wrap.className = `span-row ${cls}`;
    wrap.dataset.who = who;
    const head = document.createElement("div");
    head.className = "span-who";
    const use = document.createElement("button");
    use.type = "button";
    use.className = "span-use";
    if (key) use.append(Object.assign(document.createElement("kbd"), { textContent: key }), " ");
    use.append(action);
    use.addEventListener("click", () => { load(spans); use.blur(); });
    const title = document.createElement("strong");
    title.textContent = who;
    const count = Array.isArray(spans) ? spans.length : 0;
    head.append(title, ` · ${count ? count + " span" + (count > 1 ? "s" : "") : "no entities"} `, use);
    const text = document.createElement("div");
    text.className = "span-text span-readonly";
    text.append(...marked(Array.isArray(spans) ? spans : []));
    wrap.append(head, text);
    return wrap;
  }

  // The text cut at every span boundary; a piece inside spans is a <mark> in the first
  // span's colour, and a span's label follows its last piece.
  function marked(spans) {
    const cuts = [...new Set([0, points.length, ...spans.flatMap((s) => [s.start, s.end])])]
      .filter((at) => at >= 0 && at <= points.length).sort((a, b) => a - b);
    const nodes = [];
    for (let n = 0; n + 1 < cuts.length; n++) {
      const [a, b] = [cuts[n], cuts[n + 1]];
      const piece = points.slice(a, b).join("");
      const over = spans.filter((s) => s.start <= a && b <= s.end);
      if (!over.length) { nodes.push(document.createTextNode(piece)); continue; }
      const el = document.createElement("mark");
      el.className = `span span-c${colour.get(over[0].label) ?? 0}`;
      if (over.some((s) => !inConsensus.has(spanKey(s)))) el.classList.add("span-differs");
      el.dataset.label = over.map((s) => s.label).join(" ");
      el.textContent = piece;
      const ending = over.filter((s) => s.end === b);
      if (ending.length) {
        const tag = document.createElement("span");
        tag.className = "span-name";
        tag.textContent = ending.map((s) => s.label).join(" ");
        el.append(tag);
      }
      nodes.push(el);
    }
    return nodes;
  }

  window.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || sent) return;
    if (["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName)) return;
    let handled = false;
    const digit = /^[1-9]$/.test(event.key) ? Number(event.key) - 1 : -1;
    if (!hotkeys.has(event.key) && digit >= 0 && digit < values.length) {
      load(values[digit]);
      handled = true;
    } else if (!hotkeys.has(event.key) && event.key === "c" && consensus !== null) {
      load(consensus);
      handled = true;
    } else {
      handled = widget.handleKey(event);
    }
    if (handled) {
      event.preventDefault();
      event.stopImmediatePropagation();  // review.js must not act on it too
    }
  }, { capture: true });
}

function spanKey(s) {
  return `${s.start}:${s.end}:${s.label}`;
}
