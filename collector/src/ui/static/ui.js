// shoko web UI: small enhancements only; every page works without this script.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Inventory: filter the rows already on the page while typing (the form filters on the server).
  const search = document.getElementById("search");
  const table = document.querySelector("table.filterable");
  const shown = document.getElementById("shown");
  if (search && table) {
    search.addEventListener("input", () => {
      const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      let n = 0;
      for (const row of table.tBodies[0].rows) {
        const text = row.textContent.toLowerCase();
        const hit = words.every((w) => text.includes(w));
        row.hidden = !hit;
        if (hit) n++;
      }
      if (shown) shown.textContent = String(n);
    });
  }
  // Changes: ask before rejecting.
  for (const button of document.querySelectorAll("button.reject")) {
    button.addEventListener("click", (e) => {
      if (!window.confirm("Reject this change? The decision is recorded with your name.")) e.preventDefault();
    });
  }
});
