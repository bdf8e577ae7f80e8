/**
 * The figures folder's README.md (every figure with its caption and the lecture slide
 * it reproduces) and the per-section pruning the main job does before re-running a notebook.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../lib/atomic-write";
import {
  readManifest,
  type FigureEntry,
  type Manifest,
  type TableEntry,
} from "../lib/viz/manifest";

export { readManifest };

/**
 * Removes a section's files and manifest entries, so that a re-run leaves no stale
 * figure. Called by the main job before the section's kernel starts, so no lock is needed.
 */
export function pruneSection(figuresDir: string, section: string): void {
  fs.rmSync(path.join(figuresDir, section), { recursive: true, force: true });
  if (!fs.existsSync(path.join(figuresDir, "manifest.json"))) return;
  const m = readManifest(figuresDir);
  const kept: Manifest = {
    ...m,
    figures: m.figures.filter((f) => f.section !== section),
    tables: m.tables.filter((t) => t.section !== section),
  };
  writeFileAtomic(path.join(figuresDir, "manifest.json"), JSON.stringify(kept, null, 2) + "\n");
}

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

export function writeFiguresReadme(
  figuresDir: string,
  manifest: Manifest,
  run: { quick: boolean },
): void {
  const lines: string[] = [
    "# Figures of lecture 7, regenerated",
    "",
    `Written by the main job (\`npm run figures${run.quick ? " -- --quick" : ""}\`, ${run.quick ? "quick" : "full"} mode). ` +
      "Each figure names the notebook cell that drew it, the seed, backend and dataset; " +
      "`manifest.json` holds the same with the SHA-256 of every file.",
    "",
  ];
  const sections = [
    ...new Set([...manifest.figures, ...manifest.tables].map((f) => f.section)),
  ].sort();
  for (const section of sections) {
    lines.push(`## ${SECTION_TITLES[section] ?? section}`, "");
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
  }
  if (sections.length === 0) lines.push("No figure has been written yet.", "");
  writeFileAtomic(path.join(figuresDir, "README.md"), lines.join("\n"));
}
