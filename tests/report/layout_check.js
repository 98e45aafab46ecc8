// A layout check run inside a real browser on a rendered page (tests/report/browser.py and
// bench/screenshot_reports.py inject it). It writes what it found into the page as JSON
// (a pre element with the id layout-check), which the headless browser prints (--dump-dom).
// Folded content (<details>) is opened first, so what an auditor unfolds is checked too.
window.addEventListener("load", () => {
  const problems = [];
  document.querySelectorAll("details").forEach((d) => { d.open = true; });  // folded content too
  const svgs = [...document.querySelectorAll("svg")];
  svgs.forEach((svg, i) => {
    const box = svg.getBoundingClientRect();
    for (const text of svg.querySelectorAll("text")) {
      const r = text.getBoundingClientRect();
      if (!text.textContent.trim()) continue;
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 ||
          r.bottom > box.bottom + 1) {
        problems.push(`chart ${i + 1}: label clipped: ${text.textContent.trim()}`);
      }
    }
    const yticks = svg.querySelectorAll("[id^=ytick_]").length;
    if (yticks < 3) problems.push(`chart ${i + 1}: y axis has ${yticks} ticks`);
  });
  const visible = document.body.innerText;
  const scientific = visible.match(/\d\.?\d*e[+-]\d+/g) || [];
  scientific.forEach((s) => problems.push(`number in scientific notation: ${s}`));
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    problems.push(`page wider than the window: ${document.documentElement.scrollWidth}px`);
  }
  const out = document.createElement("pre");
  out.id = "layout-check";
  out.textContent = JSON.stringify({
    charts: svgs.length,
    tables: document.querySelectorAll("table").length,
    title: document.title,
    problems,
  });
  document.body.appendChild(out);
});
