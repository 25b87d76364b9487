"""Keyboard shortcuts for the inbox (j / k move a marker, o or Enter opens the marked run, ? toggles the help)
(the marker is held as the marked run's id, so it stays on that run when the change poll redraws the table)
and the CSS that keeps the inbox readable from a 390 px phone to a wide screen.

Plain script in the page head (Gradio's `head=`): it only reads the inbox table and clicks a cell, which
fires the same `select` event a mouse click does, so the server sees nothing new.
"""

from __future__ import annotations

KEYS_HEAD = """<script>
(() => {
  // The marker follows a run id, never a row position: when the poll redraws the inbox (a run started or
  // decided elsewhere) or its sort changes, the marker stays on the same run, and o opens that run.
  let marked = null;
  const rows = () => Array.from(document.querySelectorAll("#inbox-table [role=row].virtual-row"));
  const runOf = (row) => {
    const cell = row.querySelector("[role=gridcell][data-col='0']") || row.querySelector("[role=gridcell]");
    return cell ? cell.textContent.trim() : "";
  };
  const visible = () => { const t = document.querySelector("#inbox-table"); return t && t.offsetParent !== null; };
  function paint() {
    let found = null;
    for (const row of rows()) {
      const on = marked !== null && runOf(row) === marked;
      if (row.classList.contains("vf-cursor") !== on) row.classList.toggle("vf-cursor", on);
      if (on) found = row;
    }
    return found;
  }
  function move(step) {
    const all = rows();
    if (!all.length) { marked = null; return; }
    const at = all.findIndex((row) => runOf(row) === marked);
    const next = at < 0 ? 0 : Math.max(0, Math.min(at + step, all.length - 1));
    marked = runOf(all[next]);
    const row = paint();
    if (row) row.scrollIntoView({ block: "nearest" });
  }
  let queued = false;
  new MutationObserver(() => {
    if (queued || marked === null) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; paint(); });
  }).observe(document.documentElement, { childList: true, subtree: true, characterData: true });
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))) return;
    if (!visible()) return;
    if (event.key === "j") { move(1); event.preventDefault(); }
    else if (event.key === "k") { move(-1); event.preventDefault(); }
    else if ((event.key === "o" || event.key === "Enter") && marked !== null) {
      const row = paint();  // the marked run's row wherever it is now; none if it left the inbox
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
