/* Every sidebar button works (pydata-sphinx-theme issue #2451).
 *
 * The theme listens only to the first `.primary-toggle` of the page (hidden in this layout), while
 * sphinx-book-theme draws a second one, the one a reader sees and taps. Each later button now
 * forwards its click: on a narrow screen to the theme's button, which opens the sidebar as a
 * dialog (closed by Escape or a tap outside); on a wide screen it shows or hides the sidebar. */
document.addEventListener("DOMContentLoaded", () => {
  for (const kind of ["primary", "secondary"]) {
    const [themeButton, ...others] = document.querySelectorAll(`.${kind}-toggle`);
    const sidebar = document.getElementById(`pst-${kind}-sidebar`);
    if (!themeButton || !sidebar) continue;
    for (const button of others) {
      button.setAttribute("aria-controls", sidebar.id);
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopImmediatePropagation();
        if (kind === "primary" && window.matchMedia("(min-width: 992px)").matches) {
          const hidden = document.body.classList.toggle("book-primary-hidden");
          button.setAttribute("aria-expanded", String(!hidden));
        } else {
          themeButton.click();
        }
      }, true);  // capture: before the tooltip's and the book theme's own handlers
    }
  }
});

/* Search snippets start with the lesson, not with the page's buttons ("Colab .ipynb .pdf Light
 * Dark System…"): Sphinx takes a result's text from the whole main element, where the book theme
 * puts its header buttons, so the copy it reads leaves them out, with the contents and the
 * previous/next links. (searchtools.js defines `Search` before this runs.) */
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Search === "undefined" || !Search.htmlToText) return;
  const pageText = Search.htmlToText;
  Search.htmlToText = (html, anchor) => {
    const page = new DOMParser().parseFromString(html, "text/html");
    page.querySelectorAll(".bd-header-article, .bd-sidebar-secondary, .prev-next-area")
      .forEach((element) => element.remove());
    return pageText(page.documentElement.outerHTML, anchor);
  };
});

/* A figure opens full size on a tap, on a phone: a two-panel figure squeezed to the screen's width
 * has unreadable text, so a tap shows it at its own width (its `width` attribute, the size it was
 * drawn at) in a layer that scrolls sideways; a tap on the layer or Escape closes it. On a wider
 * screen figures already show at their own size. */
document.addEventListener("DOMContentLoaded", () => {
  const narrow = window.matchMedia("(max-width: 767.98px)");
  const close = () => document.querySelector(".book-zoom")?.remove();
  for (const image of document.querySelectorAll(".cell_output img")) {
    image.addEventListener("click", (event) => {
      if (!narrow.matches) return;
      event.preventDefault();  // Sphinx wraps a sized figure in a link to its file: stay on the page
      close();
      const layer = document.createElement("div");
      layer.className = "book-zoom";
      layer.setAttribute("role", "dialog");
      layer.setAttribute("aria-label", image.alt || "figure, full size");
      const copy = image.cloneNode();  // keeps the figure's own width (a retina PNG has twice its pixels)
      layer.append(copy);
      layer.addEventListener("click", close);
      document.body.append(layer);
    });
  }
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") close(); });
});
