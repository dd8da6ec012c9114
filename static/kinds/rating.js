// rating: one point of the project's scale, low to high. The points are buttons
// with their number keys (1 for the lowest point, 2 for the next...), each point's
// description on hover. Sends the point as a number.
// The widget contract is described in kinds/single_label.js.

import { createWidget as createButtons } from "./single_label.js";

export function createWidget({ container, labels, settings, submit }) {
  const buttons = createButtons({
    container,
    labels,
    settings,
    submit: (point) => submit(Number(point)),
  });
  container.classList.add("rating-scale");
  return {
    show(value) { buttons.show(value === undefined || value === null ? undefined : String(value)); },
    handleKey: buttons.handleKey,
  };
}
