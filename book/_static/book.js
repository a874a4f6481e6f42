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
