// "?" opens a list of the page's keys; Esc (or "?" again) closes it.
// The keys come from the page itself: every element with data-hotkey (its title,
// aria-label or text says what it does), and the <li> items of a
// <template id="page-keys"> a page may add for keys that have no button.
// Loaded once by the base layout as a module, so every page has it.

const TYPING = new Set(["INPUT", "TEXTAREA", "SELECT"]);

function describe(element) {
  const text = element.getAttribute("aria-label") || element.textContent || element.title || "";
  return text.replace(/\s+/g, " ").trim();
}

function entry(key, text) {
  const item = document.createElement("li");
  const kbd = document.createElement("kbd");
  kbd.textContent = key;
  const what = document.createElement("span");
  what.textContent = text;
  item.append(kbd, what);
  return item;
}

function pageKeys() {
  const seen = new Set();
  const entries = [];
  document.querySelectorAll("[data-hotkey]").forEach((element) => {
    const key = element.dataset.hotkey;
    if (!key || seen.has(key)) return;
    seen.add(key);
    const own = element.querySelector("kbd");
    let text = describe(element);
    if (own) text = text.replace(own.textContent.trim(), "").trim();
    entries.push(entry(key, text || key));
  });
  const declared = document.getElementById("page-keys");
  if (declared) {
    declared.content.querySelectorAll("li").forEach((li) => entries.push(li.cloneNode(true)));
  }
  entries.push(entry("?", "Show or hide this list"));
  entries.push(entry("Esc", "Close this list; leave a text field"));
  return entries;
}

function build() {
  const dialog = document.createElement("dialog");
  dialog.className = "key-help";
  dialog.id = "key-help";
  dialog.setAttribute("aria-labelledby", "key-help-title");
  const title = document.createElement("h2");
  title.id = "key-help-title";
  title.textContent = "Keys on this page";
  const list = document.createElement("ul");
  const close = document.createElement("button");
  close.type = "button";
  close.textContent = "Close";
  close.addEventListener("click", () => dialog.close());
  dialog.append(title, list, close);
  document.body.append(dialog);
  return dialog;
}

let dialog = null;

document.addEventListener("keydown", (event) => {
  if (event.key !== "?" || event.ctrlKey || event.metaKey || event.altKey) return;
  if (TYPING.has(event.target.tagName) || event.target.isContentEditable) return;
  event.preventDefault();
  dialog = dialog || build();
  if (dialog.open) {
    dialog.close();
    return;
  }
  dialog.querySelector("ul").replaceChildren(...pageKeys());
  dialog.showModal();
});
