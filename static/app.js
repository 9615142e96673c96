// Precis: the little the page needs beyond htmx. Escape in the search box clears it.
document.addEventListener("keydown", (event) => {
  const box = event.target;
  if (event.key !== "Escape" || !(box instanceof HTMLInputElement) || box.id !== "q") return;
  event.preventDefault();
  box.value = "";
  if (window.htmx) window.htmx.trigger(box, "search");
});
