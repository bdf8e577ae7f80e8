/**
 * The student's working copy of the lecture notebooks, which `npm run lab` opens: Jupyter's
 * autosave writes outputs and scratch cells there, never into the tracked notebooks/, which
 * the main job runs. A lecture notebook is copied when the working copy lacks it, and never
 * overwritten: when the lecture's version changed since it was copied, a line says so, and
 * `--fresh` moves the student's copy aside (into old/<time>/) before copying again.
 *
 *   npx tsx tools/lab-copy.ts <lecture notebooks> <working copy> [--fresh all|7.2,7.4]
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { UsageError, parseCommandLine, runCli } from "./cli";

const USAGE = "usage: lab-copy <lecture notebooks> <working copy> [--fresh all|7.2,7.4]";

/** Where the working copy notes the lecture version each copy was made from. */
export const SOURCES_FILE = ".lecture-versions.json";

export interface WorkingCopyReport {
  /** Notebooks copied now (names). */
  copied: string[];
  /** Copies whose lecture notebook changed since they were made (names). */
  outdated: string[];
  /** Copies moved aside by --fresh: name -> where it went (relative to the working copy). */
  movedAside: Record<string, string>;
}

/** "all", or notebook names or their section prefixes ("7.4"). */
export type FreshSelection = "all" | readonly string[];

const digest = (file: string): string =>
  createHash("sha256").update(fs.readFileSync(file)).digest("hex");

function readVersions(file: string): Record<string, string> {
  if (!fs.existsSync(file)) return {};
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, string>) : {};
  } catch {
    return {}; // unreadable: every copy counts as made from an unknown version
  }
}

/** The notebooks of `names` that `selection` picks; throws on a name that picks none. */
export function selectFresh(names: readonly string[], selection: FreshSelection): string[] {
  if (selection === "all") return [...names];
  const picked = new Set<string>();
  for (const s of selection) {
    const matches = names.filter((n) => n === s || n.startsWith(`${s}-`) || n === `${s}.ipynb`);
    if (matches.length === 0) {
      throw new Error(
        `--fresh ${s}: no lecture notebook is named so; give "all" or one of ` +
          names.map((n) => n.split("-")[0]).join(", "),
      );
    }
    for (const m of matches) picked.add(m);
  }
  return names.filter((n) => picked.has(n));
}

/**
 * Makes `dest` hold a copy of every notebook of `source` (*.ipynb) it lacks, moving aside
 * first the copies `fresh` names. Files of `dest` that are not lecture notebooks (the
 * student's own) are left alone. `now` names the folder copies are moved to.
 */
export function prepareWorkingCopy(
  source: string,
  dest: string,
  fresh: FreshSelection = [],
  now: Date = new Date(),
): WorkingCopyReport {
  if (!fs.statSync(source, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`the lecture notebooks folder ${source} does not exist`);
  }
  const names = fs
    .readdirSync(source)
    .filter((n) => n.endsWith(".ipynb"))
    .sort();
  fs.mkdirSync(dest, { recursive: true });
  const versionsFile = path.join(dest, SOURCES_FILE);
  const versions = readVersions(versionsFile);
  const report: WorkingCopyReport = { copied: [], outdated: [], movedAside: {} };
  const aside = path.join("old", now.toISOString().replace(/:/g, "-").replace(/\..*/, ""));
  for (const name of selectFresh(names, fresh)) {
    const copy = path.join(dest, name);
    if (!fs.existsSync(copy)) continue;
    fs.mkdirSync(path.join(dest, aside), { recursive: true });
    fs.renameSync(copy, path.join(dest, aside, name));
    report.movedAside[name] = path.join(aside, name);
  }
  for (const name of names) {
    const original = path.join(source, name);
    const copy = path.join(dest, name);
    const version = digest(original);
    if (!fs.existsSync(copy)) {
      fs.copyFileSync(original, copy);
      versions[name] = version;
      report.copied.push(name);
    } else if (versions[name] !== undefined && versions[name] !== version) {
      report.outdated.push(name);
    }
  }
  fs.writeFileSync(versionsFile, JSON.stringify(versions, null, 1) + "\n");
  return report;
}

/** The lines `npm run lab` prints about the working copy. */
export function describeReport(report: WorkingCopyReport, dest: string): string[] {
  const lines: string[] = [];
  for (const [name, to] of Object.entries(report.movedAside)) {
    lines.push(`lab: your copy of ${name} was moved to ${path.join(dest, to)}`);
  }
  if (report.copied.length > 0) {
    lines.push(`lab: copied from notebooks/ into ${dest}: ${report.copied.join(", ")}`);
  }
  for (const name of report.outdated) {
    const section = name.split("-")[0] as string;
    lines.push(
      `lab: notebooks/${name} changed since your copy was made; your copy is kept. For the new ` +
        `version: npm run lab -- --fresh ${section} (moves your copy into ${dest}/old/)`,
    );
  }
  return lines;
}

if (require.main === module)
  runCli("lab", USAGE, () => {
    const { values, positionals } = parseCommandLine({
      args: process.argv.slice(2),
      allowPositionals: true,
      options: { fresh: { type: "string" } },
    });
    const [source, dest, extra] = positionals;
    if (source === undefined || dest === undefined || extra !== undefined)
      throw new UsageError("give the lecture notebooks' folder and the working copy's");
    const fresh =
      values.fresh === undefined ? [] : values.fresh === "all" ? "all" : values.fresh.split(",");
    try {
      const report = prepareWorkingCopy(source, dest, fresh);
      const relative = path.relative(process.cwd(), dest);
      const shown = relative.startsWith("..") || path.isAbsolute(relative) ? dest : relative;
      for (const line of describeReport(report, shown)) console.error(line);
      return 0;
    } catch (e) {
      console.error(`lab: ${(e as Error).message}`);
      return 1;
    }
  });
