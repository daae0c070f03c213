/* The administration pages: a destructive action asks first (forms with data-confirm, buttons
   with data-confirm-click). */
document.addEventListener("submit", (e) => {
  const message = e.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) e.preventDefault();
});
document.addEventListener("click", (e) => {
  const button = e.target.closest ? e.target.closest("[data-confirm-click]") : null;
  if (button && !window.confirm(button.getAttribute("data-confirm-click"))) e.preventDefault();
});
