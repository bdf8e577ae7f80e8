/**
 * The figures folder's README.md: how the last main-job run went, notebook by notebook
 * (never "ok" for one that did not finish), then every figure with its caption, the lecture
 * slide it reproduces and the run it comes from, and the lecture's claims each notebook checked.
 */
import * as path from "node:path";
import { writeFileAtomic } from "../lib/atomic-write";
import {
  readManifest,
  type ClaimEntry,
  type FigureEntry,
  type Manifest,
  type SectionRun,
  type TableEntry,
} from "../lib/viz/manifest";
import { describeClaims, describeResult, type RunSummary } from "./run-summary";

export { readManifest };

const SECTION_TITLES: Record<string, string> = {
  "7.1": "7.1 Transposed convolutions",
  "7.2": "7.2 Deep autoencoders",
  "7.3": "7.3 Denoising autoencoders",
  "7.4": "7.4 Variational autoencoders",
};

/** In the order the notebook drew them. */
function byCell(a: FigureEntry | TableEntry, b: FigureEntry | TableEntry): number {
  return (a.cell ?? 0) - (b.cell ?? 0) || a.elapsedSeconds - b.elapsedSeconds;
}

function provenanceLine(f: FigureEntry | TableEntry): string {
  const where = f.notebook ? `${f.notebook}, cell ${f.cell ?? "?"}` : "interactive session";
  return `<sub>${where} · seed ${f.seed} · ${f.backend} · ${f.dataset}${f.quick ? " · quick mode" : ""} · at ${f.elapsedSeconds.toFixed(1)} s</sub>`;
}

function describeRun(run: SectionRun | undefined): string {
  if (run === undefined) return "an earlier run";
  return `the run of ${run.finishedAt.replace("T", " ").replace(/\.\d+Z$/, " UTC")} (${run.quick ? "quick" : "full"} mode)`;
}

function lastRunLines(manifest: Manifest, summary: RunSummary): string[] {
  const failed = summary.notebooks.filter((r) => !r.ok && r.status !== "not run").length;
  const verdict =
    summary.status === "ok"
      ? "every notebook ran to its end"
      : summary.status === "interrupted"
        ? "**interrupted** before it finished"
        : `**${failed} of ${summary.notebooks.length} notebook(s) failed**`;
  const lines = [
    "## Last run",
    "",
    `\`${summary.command}\`, started ${summary.startedAt.replace("T", " ").replace(/\.\d+Z$/, " UTC")}, ` +
      `${summary.quick ? "quick" : "full"} mode: ${verdict}.`,
    "",
    "| notebook | this run | the lecture's claims it checked | its figures below come from |",
    "| --- | --- | --- | --- |",
  ];
  for (const r of summary.notebooks) {
    const result = r.ok
      ? `ok, ${(r.seconds ?? 0).toFixed(1)} s`
      : `**${describeResult(r).replace(/\|/g, "\\|").replace(/\n/g, " ")}**`;
    const from =
      r.figures === "this run"
        ? "this run"
        : r.figures === "none"
          ? "no figures"
          : `${describeRun(manifest.runs?.[r.section])}, kept`;
    const claims = r.status === "not run" ? "-" : describeClaims(r.claims);
    lines.push(`| \`${r.notebook}\` | ${result} | ${claims} | ${from} |`);
  }
  lines.push("");
  return lines;
}

/** The claims a section's notebook checked: verdict, claim, the numbers that decided it. */
function claimLines(claims: ClaimEntry[]): string[] {
  if (claims.length === 0) return [];
  const mark = {
    confirmed: "✓",
    "not confirmed": "✗ **not confirmed**",
    "not checked in quick mode": "– not checked in quick mode",
  };
  return [
    "### The lecture's claims, checked",
    "",
    ...claims.map(
      (c) =>
        `- ${mark[c.verdict]}: ${c.text}${c.evidence.length > 0 ? ` (${c.evidence.join("; ")})` : ""}`,
    ),
    "",
  ];
}

export function writeFiguresReadme(
  figuresDir: string,
  manifest: Manifest,
  summary: RunSummary,
): void {
  const lines: string[] = [
    "# Figures of lecture 7, regenerated",
    "",
    "Written by the main job (`npm run figures`). Each figure names the notebook cell that drew " +
      "it, the seed, backend and dataset; `manifest.json` holds the same with the SHA-256 of every " +
      "file. A notebook's figures are replaced only when it runs to its end.",
    "",
    ...lastRunLines(manifest, summary),
  ];
  const claims = manifest.claims ?? [];
  const sections = [
    ...new Set([...manifest.figures, ...manifest.tables, ...claims].map((f) => f.section)),
  ].sort();
  for (const section of sections) {
    lines.push(`## ${SECTION_TITLES[section] ?? section}`, "");
    lines.push(`From ${describeRun(manifest.runs?.[section])}.`, "");
    const items: (FigureEntry | TableEntry)[] = [
      ...manifest.figures.filter((f) => f.section === section),
      ...manifest.tables.filter((t) => t.section === section),
    ].sort(byCell);
    for (const item of items) {
      lines.push(`### ${item.name}`, "", item.caption, "");
      if ("kind" in item) {
        if (item.slide) lines.push(`Lecture: ${item.slide}`, "");
        const png = item.files.find((x) => x.path.endsWith(".png")) ?? item.files[0];
        if (png) lines.push(`![${item.name}](${png.path})`, "");
      } else {
        const csv = item.files.find((x) => x.path.endsWith(".csv"));
        lines.push(
          `Table, ${item.rows} rows: ${item.columns.join(", ")}${csv ? ` ([CSV](${csv.path}))` : ""}`,
          "",
        );
      }
      lines.push(provenanceLine(item), "");
    }
    lines.push(...claimLines(claims.filter((c) => c.section === section)));
  }
  if (sections.length === 0) lines.push("No figure has been written yet.", "");
  writeFileAtomic(path.join(figuresDir, "README.md"), lines.join("\n"));
}
