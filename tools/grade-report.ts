/**
 * What `npm run grade` writes for one assignment: the grade table (file, points per
 * question, total, errors) as a nodejs-polars DataFrame saved to CSV and HTML, and one
 * feedback file per student listing every check with its outcome.
 */
import * as path from "node:path";
import pl from "nodejs-polars";
import { writeFileAtomic } from "../lib/atomic-write";
import { escapeHtml } from "../lib/viz/html";
import { tableHtml } from "../lib/viz/tables";
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

function safeName(student: string): string {
  return student.replace(/[^\w.-]+/g, "_");
}

/** Writes grades.csv, grades.html, results.json, feedback/<student>.md and executed/<student>.ipynb. */
export function writeReport(
  dir: string,
  ag: Autograder,
  grades: readonly SubmissionGrade[],
): { csv: string; html: string; table: pl.DataFrame } {
  const table = gradeTable(ag, grades);
  const csv = path.join(dir, "grades.csv");
  writeFileAtomic(csv, new Uint8Array(table.writeCSV()));
  const legend = ag.questions
    .map((q) => `<li>${escapeHtml(q.id)}: ${escapeHtml(q.title)} (${fmt(q.points)} points)</li>`)
    .join("");
  const links = grades
    .map(
      (g) =>
        `<li><a href="feedback/${encodeURIComponent(safeName(g.student))}.md">${escapeHtml(g.student)}</a></li>`,
    )
    .join("");
  const html = path.join(dir, "grades.html");
  writeFileAtomic(
    html,
    `<!doctype html><html><head><meta charset="utf-8"><title>Grades: ${escapeHtml(ag.name)}</title>` +
      `<style>body{font-family:sans-serif}table{border-collapse:collapse}` +
      `td,th{border:1px solid #ccc;padding:2px 8px}</style></head><body>` +
      `<h1>Grades: ${escapeHtml(ag.name)}</h1><ul>${legend}</ul>` +
      tableHtml(table, { maxRows: table.height, digits: 4 }) +
      `<h2>Feedback</h2><ul>${links}</ul></body></html>\n`,
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
    if (g.executed !== null)
      writeFileAtomic(path.join(dir, "executed", `${name}.ipynb`), notebookJson(g.executed));
  }
  return { csv, html, table };
}
