// multi_label: any set of labels per item. Each label is a toggle (click or its
// hotkey); Enter or the Submit button sends the set. When the project allows an
// empty answer, "None of these" (key 0) sends the empty set at once.
// The widget contract is described in kinds/single_label.js.

export function createWidget({ container, labels, settings, submit }) {
  const chosen = new Set();
  const allowEmpty = Boolean(settings && settings.allow_empty);

  const toggles = labels.map((label) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "label-button label-toggle";
    button.dataset.label = label.name;
    button.dataset.hotkey = label.hotkey || "";
    button.title = label.description || "";
    button.setAttribute("aria-pressed", "false");
    if (label.hotkey) {
      const key = document.createElement("kbd");
      key.textContent = label.hotkey;
      button.append(key, " ");
    }
    button.append(label.name);
    button.addEventListener("click", () => toggle(label.name));
    return button;
  });

  const send = document.createElement("button");
  send.type = "button";
  send.id = "submit-set";
  send.className = "primary";
  send.append(Object.assign(document.createElement("kbd"), { textContent: "Enter" }), " Submit");
  send.addEventListener("click", () => finish());

  const none = document.createElement("button");
  none.type = "button";
  none.id = "none-of-these";
  none.append(Object.assign(document.createElement("kbd"), { textContent: "0" }), " None of these");
  none.addEventListener("click", () => submit([]));
  none.hidden = !allowEmpty;

  const hint = document.createElement("span");
  hint.className = "hint";
  hint.id = "set-hint";
  hint.textContent = allowEmpty ? "" : "Choose at least one label.";
  hint.hidden = true;

  container.replaceChildren(...toggles, send, none, hint);
  const byKey = new Map(labels.filter((l) => l.hotkey).map((l) => [l.hotkey, l.name]));

  function paint() {
    for (const button of toggles) {
      const on = chosen.has(button.dataset.label);
      button.classList.toggle("chosen", on);
      button.setAttribute("aria-pressed", String(on));
    }
  }

  function toggle(name) {
    if (chosen.has(name)) chosen.delete(name); else chosen.add(name);
    hint.hidden = true;
    paint();
  }

  function finish() {
    if (!chosen.size && !allowEmpty) { hint.hidden = false; return; }
    // The label set's order, so the same set always reads the same.
    submit(labels.map((l) => l.name).filter((name) => chosen.has(name)));
  }

  return {
    show(value) {
      chosen.clear();
      for (const name of value || []) chosen.add(name);
      hint.hidden = true;
      paint();
    },
    handleKey(event) {
      if (byKey.has(event.key)) { toggle(byKey.get(event.key)); return true; }
      if (event.key === "Enter") { finish(); return true; }
      if (event.key === "0" && allowEmpty) { submit([]); return true; }
      return false;
    },
  };
}
