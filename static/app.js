// Precis: the little the page needs beyond htmx.
//
// - Typing: a keystroke's request says so (Precis-Typing), and the server reads the last
//   word as a prefix. The first keystroke of a new search asks for a history entry
//   (Precis-History: push); the next ones only update it. After a pause of a second or
//   on Enter, the query is settled: asked once more as a finished query (spelling help
//   for the last word), replacing the entry; leaving the box closes the entry too. So
//   Back goes from search to search, page to page, filter to filter, never keystroke by
//   keystroke.
// - After paging or a filter, the results' heading gets the focus and comes into view.
// - Keys: "/" goes to the search box; ArrowDown/ArrowUp (or j/k) move between results;
//   Enter opens one; Escape in the box clears it.
// - The compact view is remembered by this browser (static/density.js applies it early).
// - On a narrow screen the filters panel comes after the results, folded.
(() => {
  const SETTLE_MS = 1000;
  let fresh = true; // the history entry holds a settled search: the next keystroke pushes
  let typing = false; // keystrokes since the last settled request
  let pushNext = false;
  let timer = null;

  const box = () => document.getElementById("q");
  const shownQuery = () => new URLSearchParams(window.location.search).get("q") || "";

  function ask(push) {
    clearTimeout(timer);
    typing = false;
    fresh = true;
    pushNext = push;
    if (window.htmx && box()) window.htmx.trigger(box(), "settle");
  }
  function settle() {
    clearTimeout(timer);
    if (typing) ask(false);
  }

  document.addEventListener("input", (event) => {
    if (event.target !== box()) return;
    typing = true;
    clearTimeout(timer);
    timer = setTimeout(settle, SETTLE_MS);
  });
  document.addEventListener("focusout", (event) => {
    // Leaving the box closes the search's history entry without asking again: results
    // redrawn under a reader tabbing into them would take the focus away.
    if (event.target !== box() || !typing) return;
    clearTimeout(timer);
    typing = false;
    fresh = true;
  });
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!window.htmx || !box() || !form.contains(box())) return;
    if (!document.getElementById("results")) return; // another page: a plain search
    event.preventDefault(); // Enter: the live page is already here; settle it
    if (typing) settle();
    else if (box().value !== shownQuery()) ask(true);
  });

  document.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.elt !== box()) return;
    const trigger = event.detail.triggeringEvent;
    const type = trigger ? trigger.type : "";
    if (type === "input") {
      event.detail.headers["Precis-Typing"] = "1";
      if (fresh) event.detail.headers["Precis-History"] = "push";
    } else if (type === "settle" && pushNext) {
      event.detail.headers["Precis-History"] = "push";
      pushNext = false;
    }
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    const config = event.detail.requestConfig;
    if (!event.detail.successful || !config || config.elt !== box()) return;
    if (config.headers["Precis-Typing"] && config.headers["Precis-History"]) fresh = false;
  });

  // htmx keeps each history entry's page in a cache, saved as the entry is left; the
  // box may already hold the next search's first letters by then, so the saved page
  // gets the query of the entry it belongs to.
  document.addEventListener("htmx:beforeHistorySave", (event) => {
    const input = box();
    if (!input) return;
    const path = (event.detail && event.detail.path) || window.location.href;
    const query = new URL(path, window.location.href).searchParams.get("q") || "";
    input.setAttribute("value", query);
  });
  document.addEventListener("htmx:afterSettle", () => {
    const input = box();
    if (input && document.activeElement !== input) input.setAttribute("value", input.value);
  });
  document.addEventListener("htmx:historyRestore", () => {
    clearTimeout(timer);
    typing = false;
    fresh = true;
    applyDensity();
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    const source = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!source || source === box()) return; // typing keeps the focus in the box
    const briefing = document.getElementById("briefing-heading");
    if (briefing && event.detail.target && event.detail.target.id === "briefing") {
      briefing.focus({ preventScroll: true }); // "Brief me": read the briefing next
      return;
    }
    const heading = document.getElementById("results-heading");
    if (heading) {
      heading.focus({ preventScroll: true });
      document.getElementById("results").scrollIntoView({ block: "start" });
    }
  });
  document.addEventListener("htmx:afterSettle", applyDensity);

  function typingIn(target) {
    return (
      target instanceof HTMLInputElement ||
      target instanceof HTMLTextAreaElement ||
      target instanceof HTMLSelectElement ||
      (target instanceof HTMLElement && target.isContentEditable)
    );
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (event.key === "Escape" && target === box()) {
      event.preventDefault();
      if (!target.value) return;
      target.value = "";
      ask(true);
      return;
    }
    if (event.key === "/" && !typingIn(target)) {
      event.preventDefault();
      box().focus();
      box().select();
      return;
    }
    const down = event.key === "ArrowDown" || (event.key === "j" && !typingIn(target));
    const up = event.key === "ArrowUp" || (event.key === "k" && !typingIn(target));
    if (!down && !up) return;
    if (target === box() && up) return; // the box keeps its own keys, except down
    if (typingIn(target) && target !== box()) return;
    const links = [...document.querySelectorAll("#results .result h2 a")];
    if (!links.length) return;
    const at = links.indexOf(document.activeElement);
    let next = down ? at + 1 : at - 1;
    if (at === -1) next = down ? 0 : -1;
    if (next < 0) {
      if (at === 0) {
        event.preventDefault();
        box().focus();
      }
      return;
    }
    if (next >= links.length) return;
    event.preventDefault();
    links[next].focus();
    links[next].closest(".result").scrollIntoView({ block: "nearest" });
  });

  // On a narrow screen the filters follow the results, folded (open without JavaScript).
  const narrow = window.matchMedia("(max-width: 60rem)");
  function foldFilters() {
    if (!narrow.matches) return;
    for (const panel of document.querySelectorAll("details.filters-panel:not([data-seen])")) {
      panel.dataset.seen = "1";
      panel.open = false;
    }
  }

  // The compact view: a button in the toolbar (hidden without JavaScript).
  function applyDensity() {
    foldFilters();
    const compact = document.documentElement.dataset.density === "compact";
    for (const button of document.querySelectorAll("button.density")) {
      button.hidden = false;
      button.setAttribute("aria-pressed", compact ? "true" : "false");
    }
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("button.density");
    if (!button) return;
    const compact = document.documentElement.dataset.density !== "compact";
    document.documentElement.dataset.density = compact ? "compact" : "full";
    try {
      localStorage.setItem("precis-density", compact ? "compact" : "full");
    } catch (error) {
      // private windows may refuse storage: the view still changes for this page
    }
    applyDensity();
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", applyDensity);
  } else {
    applyDensity();
  }
})();
