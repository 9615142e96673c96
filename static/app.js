// Precis: the little the page needs beyond htmx. Escape in the search box clears it;
// a request sent by typing in it says so (the server then reads the last word as a
// prefix and leaves its spelling alone until it is finished).
document.addEventListener("keydown", (event) => {
  const box = event.target;
  if (event.key !== "Escape" || !(box instanceof HTMLInputElement) || box.id !== "q") return;
  event.preventDefault();
  box.value = "";
  if (window.htmx) window.htmx.trigger(box, "search");
});

document.addEventListener("htmx:configRequest", (event) => {
  const trigger = event.detail.triggeringEvent;
  if (trigger && trigger.type === "input" && event.detail.elt.id === "q") {
    event.detail.headers["Precis-Typing"] = "1";
  }
});
