/**
 * What `npm run grade` writes for one assignment: the grade table (file, points per
 * question, total, errors) as a nodejs-polars DataFrame saved to CSV, an HTML page of it whose
 * file names open each student's feedback (rendered as HTML, and as Markdown beside it to send
 * to students), and the same table as text for the console.
 */
import * as path from "node:path";
import pl from "nodejs-polars";
import { writeFileAtomic } from "../lib/atomic-write";
import { escapeHtml } from "../lib/viz/html";
import type { Autograder } from "./assign-notebook";
import { notebookJson } from "./assign-notebook";
import type { SubmissionGrade } from "./grade-submission";

/** One row per submission: file, q1 … qn (points), total, errors. */
export function gradeTable(ag: Autograder, grades: readonly SubmissionGrade[]): pl.DataFrame {
  const columns: Record<string, unknown[]> = { file: grades.map((g) => g.file) };
  for (const q of ag.questions)
    columns[q.id] = grades.map((g) => g.questions.find((x) => x.id === q.id)?.points ?? 0);
  columns.total = grades.map((g) => g.total);
  columns.errors = grades.map((g) => g.errors.join("; "));
  return pl.DataFrame(columns);
}

function fmt(x: number): string {
  return String(Math.round(x * 100) / 100);
}

/** Feedback for one student, in Markdown: per question the points and every check. */
export function feedbackMarkdown(ag: Autograder, g: SubmissionGrade): string {
  const lines = [
    `# ${ag.name}: ${g.student}`,
    "",
    `Total: **${fmt(g.total)} / ${fmt(g.max)}** points.`,
    "",
    "| question | points | checks passed |",
    "| --- | --- | --- |",
    ...g.questions.map(
      (q) =>
        `| ${q.id}: ${q.title} | ${fmt(q.points)} / ${fmt(q.max)} | ${q.passed} / ${q.total} |`,
    ),
  ];
  if (g.errors.length > 0 || g.warnings.length > 0) {
    lines.push("", "## Problems", "");
    for (const e of g.errors) lines.push(`- ${e}`);
    for (const w of g.warnings) lines.push(`- note: ${w}`);
  }
  for (const q of g.questions) {
    lines.push("", `## ${q.id}: ${q.title} (${fmt(q.points)} / ${fmt(q.max)})`, "");
    for (const n of q.notes) lines.push(`- **${n}: 0 points for ${q.id}**`);
    for (const t of g.tests.filter((x) => x.question === q.id)) {
      const [reason, ...detail] = t.message.split("\n");
      lines.push(
        `- ${t.passed ? "✓" : "✗"} ${t.visibility} · ${t.test}${t.passed ? "" : `: ${reason}`}`,
      );
      if (!t.passed && detail.length > 0)
        lines.push("  ```", ...detail.map((d) => `  ${d}`), "  ```");
    }
  }
  return lines.join("\n") + "\n";
}

/** Feedback for one student as an HTML page: the Markdown's content, with its structure. */
export function feedbackHtml(ag: Autograder, g: SubmissionGrade): string {
  const e = escapeHtml;
  const parts = [
    `<h1>${e(ag.name)}: ${e(g.student)}</h1>`,
    `<p>Total: <b>${fmt(g.total)} / ${fmt(g.max)}</b> points.</p>`,
    "<table><thead><tr><th>question</th><th>points</th><th>checks passed</th></tr></thead><tbody>",
    ...g.questions.map(
      (q) =>
        `<tr><td>${e(`${q.id}: ${q.title}`)}</td><td class="n">${fmt(q.points)} / ${fmt(q.max)}</td>` +
        `<td class="n">${q.passed} / ${q.total}</td></tr>`,
    ),
    "</tbody></table>",
  ];
  if (g.errors.length > 0 || g.warnings.length > 0) {
    parts.push(
      "<h2>Problems</h2><ul>",
      ...g.errors.map((x) => `<li>${e(x)}</li>`),
      ...g.warnings.map((x) => `<li>note: ${e(x)}</li>`),
      "</ul>",
    );
  }
  for (const q of g.questions) {
    parts.push(`<h2>${e(`${q.id}: ${q.title}`)} (${fmt(q.points)} / ${fmt(q.max)})</h2><ul>`);
    for (const n of q.notes) parts.push(`<li><b>${e(n)}: 0 points for ${e(q.id)}</b></li>`);
    for (const t of g.tests.filter((x) => x.question === q.id)) {
      const [reason, ...detail] = t.message.split("\n");
      parts.push(
        `<li class="${t.passed ? "pass" : "fail"}">${t.passed ? "✓" : "✗"} ${e(t.visibility)} · ` +
          `${e(t.test)}${t.passed ? "" : `: ${e(reason ?? "")}`}` +
          (!t.passed && detail.length > 0 ? `<pre>${e(detail.join("\n"))}</pre>` : "") +
          "</li>",
      );
    }
    parts.push("</ul>");
  }
  return page(`Feedback: ${ag.name}, ${g.student}`, parts.join("\n"));
}

const STYLE =
  "body{font-family:sans-serif;max-width:75em;margin:1em auto;padding:0 1em}" +
  "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;vertical-align:top}" +
  "td.n{text-align:right;white-space:nowrap}li.pass{color:#1a7f37}li.fail{color:#b3261e}" +
  "pre{color:#000;background:#f6f6f6;padding:4px}";

function page(title: string, body: string): string {
  return (
    `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
    `<style>${STYLE}</style></head><body>\n${body}\n</body></html>\n`
  );
}

/** The grade table as text for the console: aligned columns, long errors cut to `width`. */
export function gradeTableText(
  ag: Autograder,
  grades: readonly SubmissionGrade[],
  width = 100,
): string {
  const header = ["file", ...ag.questions.map((q) => q.id), "total", "errors"];
  const rows = grades.map((g) => [
    g.file,
    ...ag.questions.map((q) => fmt(g.questions.find((x) => x.id === q.id)?.points ?? 0)),
    fmt(g.total),
    g.errors.join("; "),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const last = header.length - 1;
  const line = (cells: string[]): string => {
    const text = cells
      .map((c, i) =>
        i === 0 ? c.padEnd(widths[0] ?? 0) : i === last ? c : c.padStart(widths[i] ?? 0),
      )
      .join("  ")
      .trimEnd();
    return text.length > width ? `${text.slice(0, width - 1)}…` : text;
  };
  const max = ag.questions.reduce((a, q) => a + q.points, 0);
  const mean = grades.reduce((a, g) => a + g.total, 0) / Math.max(1, grades.length);
  return [
    line(header),
    ...rows.map(line),
    `${grades.length} submission(s), mean ${fmt(mean)} / ${fmt(max)}; errors in full in the feedback files`,
  ].join("\n");
}

function safeName(student: string): string {
  return student.replace(/[^\w.-]+/g, "_");
}

/**
 * Writes grades.csv, grades.html, results.json, feedback/<student>.html and .md, and
 * executed/<student>.ipynb.
 */
export function writeReport(
  dir: string,
  ag: Autograder,
  grades: readonly SubmissionGrade[],
): { csv: string; html: string; text: string } {
  const table = gradeTable(ag, grades);
  const csv = path.join(dir, "grades.csv");
  writeFileAtomic(csv, new Uint8Array(table.writeCSV()));
  const e = escapeHtml;
  const legend = ag.questions
    .map((q) => `<li>${e(q.id)}: ${e(q.title)} (${fmt(q.points)} points)</li>`)
    .join("");
  const header = ["file", ...ag.questions.map((q) => q.id), "total", "errors"];
  const rows = grades.map((g) => {
    const link = `feedback/${encodeURIComponent(safeName(g.student))}.html`;
    const points = ag.questions.map(
      (q) => `<td class="n">${fmt(g.questions.find((x) => x.id === q.id)?.points ?? 0)}</td>`,
    );
    const errors = g.errors.map((x) => `<div>${e(x)}</div>`).join("");
    return (
      `<tr><td><a href="${link}">${e(g.file)}</a></td>${points.join("")}` +
      `<td class="n"><b>${fmt(g.total)}</b></td><td>${errors}</td></tr>`
    );
  });
  const html = path.join(dir, "grades.html");
  writeFileAtomic(
    html,
    page(
      `Grades: ${ag.name}`,
      `<h1>Grades: ${e(ag.name)}</h1><ul>${legend}</ul>` +
        `<p>${grades.length} submission(s); a file name opens its feedback.</p>` +
        `<table><thead><tr>${header.map((h) => `<th>${e(h)}</th>`).join("")}</tr></thead>` +
        `<tbody>\n${rows.join("\n")}\n</tbody></table>`,
    ),
  );
  writeFileAtomic(
    path.join(dir, "results.json"),
    JSON.stringify(
      grades.map(({ executed: _e, ...g }) => g),
      null,
      2,
    ) + "\n",
  );
  for (const g of grades) {
    const name = safeName(g.student);
    writeFileAtomic(path.join(dir, "feedback", `${name}.md`), feedbackMarkdown(ag, g));
    writeFileAtomic(path.join(dir, "feedback", `${name}.html`), feedbackHtml(ag, g));
    if (g.executed !== null)
      writeFileAtomic(path.join(dir, "executed", `${name}.ipynb`), notebookJson(g.executed));
  }
  return { csv, html, text: gradeTableText(ag, grades) };
}
