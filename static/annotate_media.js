// The form's picture: fetched ahead of time, shown only when decoded, and zoomable.
//
// load(item) starts fetching an item's picture (once per item) and resolves to true
// when it is decoded (false when it failed); isReady(item) says whether it already is.
// show(item) puts that very element on the page, so nothing is fetched twice and the
// previous picture is never seen under the new item's id.
// Zoom: + (or =) and - by keyboard, the mouse wheel over the picture, a double click
// back to fit; a zoomed picture scrolls inside its frame. Levels are classes (the page's
// CSP allows no inline styles).

const LEVELS = [1, 1.5, 2, 3, 4];

export function createMedia(container) {
  const loads = new Map();  // item id -> {img, done: Promise<boolean>, ok: boolean | null}
  let level = 0;
  let shown = null;

  function entry(item) {
    let found = loads.get(item.id);
    if (found) return found;
    const img = new Image();
    img.alt = "item picture";
    img.id = "item-image";
    found = { img, ok: null, done: null };
    found.done = new Promise((resolve) => {
      img.addEventListener("load", () => {
        img.decode().catch(() => {}).then(() => { found.ok = true; resolve(true); });
      }, { once: true });
      img.addEventListener("error", () => { found.ok = false; resolve(false); }, { once: true });
    });
    img.src = item.image_url;
    loads.set(item.id, found);
    if (loads.size > 12) loads.delete(loads.keys().next().value);  // keep memory flat
    return found;
  }

  function zoom(step) {
    if (!shown) return false;
    const next = Math.min(Math.max(level + step, 0), LEVELS.length - 1);
    if (next === level) return true;
    container.classList.remove(`zoom-${level}`);
    level = next;
    container.classList.add(`zoom-${level}`);
    container.dataset.zoom = String(LEVELS[level]);
    return true;
  }

  function reset() {
    container.classList.remove(`zoom-${level}`);
    level = 0;
    container.classList.add("zoom-0");
    container.dataset.zoom = "1";
    container.scrollTop = container.scrollLeft = 0;
  }

  container.addEventListener("wheel", (event) => {
    if (!shown) return;
    event.preventDefault();
    zoom(event.deltaY < 0 ? 1 : -1);
  }, { passive: false });
  container.addEventListener("dblclick", () => reset());

  return {
    load(item) {
      return item.image_url ? entry(item).done : Promise.resolve(true);
    },
    isReady(item) {
      return !item.image_url || entry(item).ok === true;
    },
    show(item) {
      reset();
      if (!item.image_url) {
        shown = null;
        container.replaceChildren();
        container.hidden = true;
        return;
      }
      shown = entry(item).img;
      container.replaceChildren(shown);
      container.hidden = false;
    },
    handleKey(event) {
      if (event.key === "+" || event.key === "=") return zoom(1);
      if (event.key === "-") return zoom(-1);
      return false;
    },
  };
}
