// Precis: apply the compact view this browser chose (static/app.js offers the button)
// before the page is drawn, so that results do not jump from one density to the other.
try {
  if (localStorage.getItem("precis-density") === "compact") {
    document.documentElement.dataset.density = "compact";
  }
} catch (error) {
  // storage refused (a private window): the full view
}
