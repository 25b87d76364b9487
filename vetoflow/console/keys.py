"""Keyboard shortcuts for the inbox (j / k move a marker, o or Enter opens the marked run, ? toggles the help)
and the CSS that keeps the inbox readable from a 390 px phone to a wide screen.

Plain script in the page head (Gradio's `head=`): it only reads the inbox table and clicks a cell, which
fires the same `select` event a mouse click does, so the server sees nothing new.
"""

from __future__ import annotations

KEYS_HEAD = """<script>
(() => {
  let cursor = -1;
  const rows = () => Array.from(document.querySelectorAll("#inbox-table [role=row].virtual-row"));
  const visible = () => { const t = document.querySelector("#inbox-table"); return t && t.offsetParent !== null; };
  function mark(index) {
    const all = rows();
    if (!all.length) { cursor = -1; return; }
    cursor = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((row, i) => row.classList.toggle("vf-cursor", i === cursor));
    all[cursor].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))) return;
    if (!visible()) return;
    if (event.key === "j") { mark(cursor + 1); event.preventDefault(); }
    else if (event.key === "k") { mark(cursor - 1); event.preventDefault(); }
    else if ((event.key === "o" || event.key === "Enter") && cursor >= 0) {
      const row = rows()[cursor];
      const cell = row && row.querySelector("[role=gridcell]");
      if (cell) {
        for (const kind of ["mousedown", "mouseup", "click"]) {
          cell.dispatchEvent(new MouseEvent(kind, { bubbles: true, cancelable: true, view: window }));
        }
        event.preventDefault();
      }
    } else if (event.key === "?") {
      const toggle = document.querySelector("#inbox-keys button, #inbox-keys .label-wrap");
      if (toggle) { toggle.click(); event.preventDefault(); }
    }
  });
})();
</script>"""

CSS = """
#inbox-table .virtual-row.vf-cursor [role=gridcell] { outline: 2px solid var(--color-accent); outline-offset: -2px; }
#inbox-table th, #inbox-table td { min-width: 6.5rem; }
#inbox-table th:first-child, #inbox-table td:first-child { min-width: 7.5rem; }
#inbox-table th:nth-child(2), #inbox-table td:nth-child(2) { min-width: 10rem; }
#inbox-table th:last-child, #inbox-table td:last-child { min-width: 14rem; }
@media (max-width: 640px) {
  .gradio-container { padding-left: 4px !important; padding-right: 4px !important; }
  #inbox-table .table-wrap, #inbox-table .table-container { overflow-x: auto !important; }
  #inbox-bar { flex-wrap: wrap; }
}
"""
