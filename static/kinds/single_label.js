// single_label: one label per item. A button per label; its hotkey or a click answers.
//
// Every kind's widget module exports createWidget(options) and returns
//   { show(value), handleKey(event) }:
// - options.container: the element the widget renders its controls into;
// - options.labels: the project's label set [{name, hotkey, description}];
// - options.settings: the kind's task settings (Project.task_settings);
// - options.submit(value): call it with the answer in the kind's value shape;
// - show(value, item): reset the controls for a new item, marking `value` (the
//   annotator's earlier answer, or undefined) as chosen; `item` is the item payload, whose
//   `presentation` (when not null) is the kind's own layout of it, which the widget then
//   draws (the shell hides its field list);
// - handleKey(event): return true when the key was the widget's (the shell then
//   prevents its default); the shell keeps s (skip), b (back) and ? for itself.

export function createWidget({ container, labels, submit }) {
  const buttons = labels.map((label) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "label-button";
    button.dataset.label = label.name;
    button.dataset.hotkey = label.hotkey || "";
    button.title = label.description || "";
    if (label.hotkey) {
      const key = document.createElement("kbd");
      key.textContent = label.hotkey;
      button.append(key, " ");
    }
    button.append(label.name);
    button.addEventListener("click", () => submit(label.name));
    return button;
  });
  container.replaceChildren(...buttons);
  const byKey = new Map(labels.filter((l) => l.hotkey).map((l) => [l.hotkey, l.name]));

  return {
    show(value) {
      for (const button of buttons) {
        button.classList.toggle("chosen", value !== undefined && button.dataset.label === value);
      }
    },
    handleKey(event) {
      if (!byKey.has(event.key)) return false;
      submit(byKey.get(event.key));
      return true;
    },
  };
}
