// spans: mark stretches of the item's text with labels (the contract is in single_label.js;
// show() also receives the item, and showsText(name) tells the shell which text field the
// widget draws itself).
//
// Keyboard: ← → move the token cursor, shift+← → extend the selection, a label's hotkey
// marks the selection (or the cursor's token), Delete/Backspace removes the span under
// the cursor, Enter submits (no spans = "no entities"). Mouse: select text, then press a
// hotkey or a label button; click a marked span to remove it.
//
// Offsets sent are Unicode code points, as the server stores them; the server snaps them
// to its own tokens again. Everything is drawn with textContent and classes (no inline
// styles: the page runs under a strict CSP).

const EXTEND = "\\u0300-\\u036f\\u0483-\\u0489\\u0591-\\u05bd\\u064b-\\u065f\\u0900-\\u0903\\u093a-\\u094f" +
  "\\u1ab0-\\u1aff\\u1dc0-\\u1dff\\u20d0-\\u20ff\\ufe00-\\ufe0f\\ufe20-\\ufe2f" +
  "\\u{1f3fb}-\\u{1f3ff}\\u{e0020}-\\u{e007f}\\u{e0100}-\\u{e01ef}";
const PATTERNS = {
  words: new RegExp(`(?:[\\p{L}\\p{N}_\\p{Mn}\\p{Mc}]|[${EXTEND}])+|[^\\p{L}\\p{N}_\\s](?:[${EXTEND}]|\\u200d\\S)*`, "gu"),
  characters: new RegExp(`\\S(?:[${EXTEND}]|\\u200d\\S)*`, "gu"),
};
export const COLOURS = 8;

// Each label's palette class index: the project's choice (settings.colours, set on the
// project's settings page), else its place in the label set. Classes, not styles: CSP.
export function labelColours(labels, settings) {
  const chosen = (settings && settings.colours) || {};
  return new Map(labels.map((l, i) => {
    const pick = Number.isInteger(chosen[l.name]) ? chosen[l.name] : i;
    return [l.name, ((pick % COLOURS) + COLOURS) % COLOURS];
  }));
}

// Tokens as [start, end) in code points, from a regex over UTF-16 indices.
export function tokenize(text, tokenizer = "words") {
  const toPoint = new Map();
  let point = 0;
  for (let unit = 0; unit < text.length; ) {
    toPoint.set(unit, point);
    unit += text.codePointAt(unit) > 0xffff ? 2 : 1;
    point += 1;
  }
  toPoint.set(text.length, point);
  const tokens = [];
  for (const match of text.matchAll(PATTERNS[tokenizer] || PATTERNS.words)) {
    tokens.push([toPoint.get(match.index), toPoint.get(match.index + match[0].length)]);
  }
  return tokens;
}

export function createWidget({ container, labels, settings, submit }) {
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = new URL("spans.css", import.meta.url).href;
  document.head.append(link);

  const colour = labelColours(labels, settings);
  const byKey = new Map(labels.filter((l) => l.hotkey).map((l) => [l.hotkey, l.name]));
  const overlap = Boolean(settings.overlap);
  const textBox = document.createElement("div");
  textBox.className = "span-text";
  textBox.tabIndex = 0;
  const palette = document.createElement("div");
  palette.className = "span-palette";
  for (const label of labels) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `label-button span-c${colour.get(label.name)}`;
    button.dataset.label = label.name;
    if (label.hotkey) {
      const key = document.createElement("kbd");
      key.textContent = label.hotkey;
      button.append(key, " ");
    }
    button.append(label.name);
    button.addEventListener("click", () => mark(label.name));
    palette.append(button);
  }
  const done = document.createElement("button");
  done.type = "button";
  done.id = "span-submit";
  done.append(Object.assign(document.createElement("kbd"), { textContent: "Enter" }), " Submit");
  done.addEventListener("click", () => send());
  const summary = document.createElement("p");
  summary.className = "span-summary";
  summary.setAttribute("aria-live", "polite");
  palette.append(done);
  container.replaceChildren(textBox, palette, summary);

  let points = [];      // the text as code points
  let tokens = [];      // [[start, end)] in code points
  let spans = [];       // [{start, end, label}]
  let cursor = 0;       // token index
  let anchor = null;    // token index where a selection started, or null
  let tokEls = [];      // the drawn token elements, by index

  function fieldName(item) {
    if (settings.text_field) return settings.text_field;
    const text = item.fields.find((f) => f.kind === "text");
    return text ? text.name : null;
  }

  function selection() {
    const a = anchor === null ? cursor : anchor;
    return [Math.min(a, cursor), Math.max(a, cursor)];
  }

  // Moving the cursor only restyles the tokens that change (a full draw of a
  // 10,000-character text costs tens of milliseconds; this costs microseconds).
  function moveCursor() {
    const [first, last] = selection();
    for (const el of textBox.querySelectorAll(".tok.cursor, .tok.selected")) {
      el.classList.remove("cursor", "selected");
    }
    tokEls[cursor]?.classList.add("cursor");
    if (anchor !== null) for (let i = first; i <= last; i++) tokEls[i].classList.add("selected");
  }

  function draw() {
    tokEls = [];
    const [first, last] = selection();
    const startsAt = new Map(spans.map((s) => [s.start, s]));
    const nodes = [];
    let at = 0;
    let open = null;  // the <mark> being filled
    const put = (node) => (open ? open.el.append(node) : nodes.push(node));
    tokens.forEach(([start, end], i) => {
      const gap = points.slice(at, start).join("");
      const span = startsAt.get(start);
      if (open && open.span.end <= start) { finish(open); open = null; }
      if (gap) put(document.createTextNode(gap));
      if (!open && span) {
        const el = document.createElement("mark");
        el.className = `span span-c${colour.get(span.label) ?? 0}`;
        el.dataset.label = span.label;
        el.dataset.start = span.start;
        el.dataset.end = span.end;
        el.title = `${span.label}: click to remove`;
        el.addEventListener("click", (event) => {
          if (!window.getSelection().isCollapsed) return;
          event.stopPropagation();
          remove(span);
        });
        open = { el, span };
        nodes.push(el);
      }
      const tok = document.createElement("span");
      tokEls[i] = tok;
      tok.className = "tok";
      tok.dataset.i = i;
      if (i === cursor) tok.classList.add("cursor");
      if (i >= first && i <= last && anchor !== null) tok.classList.add("selected");
      tok.textContent = points.slice(start, end).join("");
      put(tok);
      at = end;
    });
    if (open) finish(open);
    const tail = points.slice(at).join("");
    if (tail) nodes.push(document.createTextNode(tail));
    textBox.replaceChildren(...nodes);
    summary.textContent = spans.length
      ? `${spans.length} span${spans.length > 1 ? "s" : ""}: ` +
        spans.map((s) => `${s.label} “${points.slice(s.start, s.end).join("")}”`).join(", ")
      : "No entities marked (Enter submits “no entities”).";
  }

  function finish(open) {
    const name = document.createElement("span");
    name.className = "span-name";
    name.textContent = open.span.label;
    open.el.append(name);
  }

  function mark(label) {
    if (!tokens.length) return;
    const [first, last] = selection();
    const added = { start: tokens[first][0], end: tokens[last][1], label };
    spans = spans.filter((s) => !(s.start === added.start && s.end === added.end));
    if (!overlap) spans = spans.filter((s) => s.end <= added.start || added.end <= s.start);
    spans.push(added);
    spans.sort((a, b) => a.start - b.start || a.end - b.end || (a.label < b.label ? -1 : 1));
    anchor = null;
    draw();
  }

  function remove(span) {
    spans = spans.filter((s) => s !== span);
    draw();
  }

  function send() {
    submit(spans.map(({ start, end, label }) => ({ start, end, label })));
  }

  textBox.addEventListener("mouseup", () => {
    const chosen = window.getSelection();
    if (chosen.isCollapsed) return;
    const ends = [chosen.anchorNode, chosen.focusNode].map((node) => {
      const el = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
      return el.closest(".tok");
    });
    if (ends.some((el) => !el || !textBox.contains(el))) return;
    anchor = Number(ends[0].dataset.i);
    cursor = Number(ends[1].dataset.i);
    chosen.removeAllRanges();
    moveCursor();
  });

  return {
    showsText(name, item) {
      return name === fieldName(item);
    },
    show(value, item) {
      const name = item ? fieldName(item) : null;
      const field = item ? item.fields.find((f) => f.name === name) : null;
      points = Array.from(field && field.value !== null ? String(field.value) : "");
      tokens = tokenize(points.join(""), settings.tokenizer);
      spans = Array.isArray(value) ? value.map(({ start, end, label }) => ({ start, end, label })) : [];
      cursor = 0;
      anchor = null;
      draw();
    },
    handleKey(event) {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (step) {
        if (event.shiftKey && anchor === null) anchor = cursor;
        if (!event.shiftKey) anchor = null;
        cursor = Math.min(Math.max(cursor + step, 0), Math.max(tokens.length - 1, 0));
        moveCursor();
        return true;
      }
      if (event.key === "Delete" || event.key === "Backspace") {
        const here = tokens[cursor];
        const hit = here && spans.find((s) => s.start <= here[0] && here[1] <= s.end);
        if (hit) remove(hit);
        return true;
      }
      if (event.key === "Enter") { send(); return true; }
      if (event.key === "Escape") { anchor = null; moveCursor(); return true; }
      if (byKey.has(event.key)) { mark(byKey.get(event.key)); return true; }
      return false;
    },
  };
}
