// secobot — /agent/admin: asks before disabling an account or resetting a
// password, and copies a one-time password. The page works without it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    });
  }

  const password = document.getElementById("one-time-password");
  const copy = document.getElementById("copy-password");
  if (password && copy && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(password.textContent);
        copy.textContent = "Copiada";
      } catch {
        copy.textContent = "No se pudo copiar: selecciónela y cópiela";
      }
    });
  }

  const message = document.getElementById("admin-error") || document.getElementById("admin-notice");
  if (message) {
    // After a change, the result is what the supervisor needs to read first.
    message.tabIndex = -1;
    message.focus();
  }
});
