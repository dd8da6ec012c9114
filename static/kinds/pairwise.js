// pairwise: which of two responses to a prompt is better, or a tie (or, as a project
// option, both bad), with an optional strength. The contract is single_label.js's; the
// shell also passes the item to show(value, item), whose `presentation` (from the server)
// holds the prompt, the context, the two responses as `left` / `right` and `shown`
// ("AB": A on the left). Votes are sent in A/B terms with the order shown, never as sides.
// Every text goes in with textContent: nothing from an item is ever parsed as HTML.

const SIDES = [
  { side: "left", keys: ["1", "ArrowLeft"], title: "Left is better" },
  { side: "right", keys: ["2", "ArrowRight"], title: "Right is better" },
  { side: "tie", keys: ["3"], title: "Tie" },
  { side: "both_bad", keys: ["4"], title: "Both bad" },
];

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function loadStyle() {
  const href = new URL("./pairwise.css", import.meta.url).href;
  if (document.querySelector(`link[href="${href}"]`)) return;
  const link = element("link");
  link.rel = "stylesheet";
  link.href = href;
  document.head.append(link);
}

export function createWidget({ container, settings, submit }) {
  loadStyle();
  const offered = SIDES.filter((s) => s.side !== "both_bad" || settings.both_bad);
  let presentation = null;
  let strength = "slightly";

  const prompt = element("section", "pair-prompt");
  const responses = element("div", "pair-responses");
  const panes = {};
  for (const side of ["left", "right"]) {
    const pane = element("section", `pair-response pair-${side}`);
    const heading = element("h3", null, side === "left" ? "Left" : "Right");
    const body = element("div", "pair-text");
    body.tabIndex = 0;  // scrollable by keyboard too
    pane.append(heading, body);
    panes[side] = body;
    responses.append(pane);
  }
  const buttons = offered.map((option) => {
    const button = element("button", "label-button");
    button.type = "button";
    button.dataset.side = option.side;
    button.append(element("kbd", null, option.keys[0]), " ", option.title);
    button.addEventListener("click", () => vote(option.side));
    return button;
  });
  const bar = element("div", "pair-buttons");
  bar.append(...buttons);
  let strengthToggle = null;
  if (settings.strength) {
    strengthToggle = element("button", "pair-strength");
    strengthToggle.type = "button";
    strengthToggle.addEventListener("click", toggleStrength);
    bar.append(strengthToggle);
  }
  container.replaceChildren(prompt, responses, bar);

  function toggleStrength() {
    strength = strength === "slightly" ? "much" : "slightly";
    strengthToggle.replaceChildren(element("kbd", null, "m"), ` Strength: ${strength} better`);
  }
  if (strengthToggle) { strength = "much"; toggleStrength(); }

  function choiceOf(side) {
    if (side === "left") return presentation.shown[0];
    if (side === "right") return presentation.shown[1];
    return side;
  }

  function vote(side) {
    if (!presentation) return;
    const value = { choice: choiceOf(side), shown: presentation.shown };
    if (settings.strength && (value.choice === "A" || value.choice === "B")) value.strength = strength;
    submit(value);
  }

  function sideOf(value) {
    if (!value || !presentation) return null;
    const at = presentation.shown.indexOf(value.choice);
    return at === 0 ? "left" : at === 1 ? "right" : value.choice;
  }

  return {
    show(value, item) {
      presentation = (item && item.presentation) || null;
      const shown = presentation || { prompt: "", context: "", left: "", right: "" };
      const parts = [element("h3", null, "Prompt"), element("div", "pair-text", shown.prompt)];
      if (shown.context) parts.push(element("h3", null, "Context"), element("div", "pair-text", shown.context));
      prompt.replaceChildren(...parts);
      panes.left.textContent = shown.left;
      panes.right.textContent = shown.right;
      panes.left.scrollTop = panes.right.scrollTop = 0;
      container.dataset.shown = presentation ? presentation.shown : "";
      const chosen = sideOf(value);
      for (const button of buttons) button.classList.toggle("chosen", button.dataset.side === chosen);
      if (strengthToggle && value && value.strength && value.strength !== strength) toggleStrength();
    },
    handleKey(event) {
      if (strengthToggle && event.key === "m") { toggleStrength(); return true; }
      const option = offered.find((o) => o.keys.includes(event.key));
      if (!option) return false;
      vote(option.side);
      return true;
    },
  };
}
