/**
 * The figures manifest (`<figuresDir>/manifest.json`): one entry per saved figure and
 * table with where it came from (notebook, cell, seed, backend, dataset) and the
 * sha256 of each file, so that runs can be compared and a README generated from it.
 *
 * Several processes may save at once (two notebooks open in Jupyter), so every update
 * takes a lock file, re-reads the manifest, and replaces it by rename.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { readSettings } from "../settings";
import { writeFileAtomic } from "../atomic-write";
import { withLockSync } from "../lock-file";

/** Written by the main job's executor before each cell (path in env DLC_RUN_STATE). */
export interface RunState {
  /** Notebook file name, e.g. "7.1-transposed-convolutions.ipynb". */
  notebook: string;
  /** Index of the cell being executed (0-based, as the executor counts). */
  cell: number;
  /** When the run started, ms since the epoch. */
  startedAt: number;
}

/** Where a figure comes from: null notebook/cell when run interactively. */
export interface Provenance {
  notebook: string | null;
  cell: number | null;
  seed: number;
  backend: string;
  dataset: string;
  quick: boolean;
  /** Seconds since the run state's startedAt, or since the process started. */
  elapsedSeconds: number;
}

export interface ManifestFile {
  /** Relative to the figures folder, with "/" separators, e.g. "7.1/digits.png". */
  path: string;
  sha256: string;
  bytes: number;
}

/** The checkpoint hashes of the models a notebook had trained or loaded, by name. */
export type ModelHashes = Record<string, string>;

export interface FigureEntry extends Provenance {
  section: string;
  name: string;
  /** The models behind it: every model the notebook had trained or loaded when it was made. */
  models?: ModelHashes;
  /** "image" for pictures (grids), "chart" for vega-lite charts (PNG + SVG). */
  kind: "image" | "chart";
  caption: string;
  /** The lecture slide it reproduces, or null. */
  slide: string | null;
  /** PNG size in pixels; `scale` PNG pixels per CSS pixel (charts are drawn at 2). */
  width: number;
  height: number;
  scale: number;
  files: ManifestFile[];
}

export interface TableEntry extends Provenance {
  section: string;
  name: string;
  models?: ModelHashes;
  caption: string;
  rows: number;
  columns: string[];
  files: ManifestFile[];
}

/** A claim of the lecture, checked by a notebook from its numbers. */
export interface ClaimEntry extends Provenance {
  section: string;
  /** The claim, e.g. "the denoiser restores every corruption". */
  text: string;
  verdict: "confirmed" | "not confirmed" | "not checked in quick mode";
  /** The numbers that decided it. */
  evidence: string[];
  models?: ModelHashes;
}

/** The main job's record of the run that produced a section's figures. */
export interface SectionRun {
  notebook: string;
  /** ISO time the notebook finished. */
  finishedAt: string;
  quick: boolean;
}

export interface Manifest {
  version: 1;
  figures: FigureEntry[];
  tables: TableEntry[];
  /** The claims the notebooks checked (absent in manifests written before they were kept). */
  claims?: ClaimEntry[];
  /** Per section, the main-job run its figures come from (absent for interactive folders). */
  runs?: Record<string, SectionRun>;
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Checks a section or figure name: letters, digits, '-', '_', '.', not starting with '.'. */
export function checkName(what: string, name: string): void {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new Error(
      `${what} "${name}": use letters, digits, '-', '_' and '.', not starting with '.' (e.g. "7.1", "reconstructions-d8")`,
    );
  }
  if (/\.(png|svg|csv|json)$/i.test(name)) {
    throw new Error(`${what} "${name}": give the name without a file extension`);
  }
}

/** The run state from the file DLC_RUN_STATE names, or null when it is unset. */
export function readRunState(file: string | null = readSettings().runStateFile): RunState | null {
  if (file === null) return null;
  let state: Partial<RunState>;
  try {
    state = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<RunState>;
  } catch (e) {
    throw new Error(`DLC_RUN_STATE=${file}: cannot read the run state (${(e as Error).message})`);
  }
  if (
    typeof state.notebook !== "string" ||
    !Number.isInteger(state.cell) ||
    typeof state.startedAt !== "number"
  ) {
    throw new Error(
      `DLC_RUN_STATE=${file}: expected {"notebook": string, "cell": integer, "startedAt": ms}, got ${JSON.stringify(state)}`,
    );
  }
  return state as RunState;
}

/** Provenance fields for an entry made now. */
export function provenance(context: {
  seed: number;
  backend: string;
  dataset: string;
  quick: boolean;
}): Provenance {
  const state = readRunState();
  const elapsed = state === null ? process.uptime() : (Date.now() - state.startedAt) / 1000;
  return {
    notebook: state?.notebook ?? null,
    cell: state?.cell ?? null,
    ...context,
    elapsedSeconds: Math.round(elapsed * 100) / 100,
  };
}

/** Path, hash and size of a file written under the figures folder. */
export function describeFile(
  figuresDir: string,
  file: string,
  data: string | Uint8Array,
): ManifestFile {
  return {
    path: path.relative(figuresDir, file).split(path.sep).join("/"),
    sha256: crypto.createHash("sha256").update(data).digest("hex"),
    bytes: typeof data === "string" ? Buffer.byteLength(data) : data.byteLength,
  };
}

/** Reads the manifest (an empty one when the file does not exist yet). */
export function readManifest(figuresDir: string): Manifest {
  const file = path.join(figuresDir, "manifest.json");
  const fix =
    "it only lists the figures of this folder: delete it and re-run the notebooks whose " +
    "figures you need (npm run figures rebuilds it)";
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT")
      return { version: 1, figures: [], tables: [] };
    throw new Error(`${file}: cannot read the figures manifest (${(e as Error).message})`);
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
  } catch (e) {
    throw new Error(
      `${file}: the figures manifest is not valid JSON (${(e as Error).message}); ${fix}`,
    );
  }
  if (
    manifest === null ||
    manifest.version !== 1 ||
    !Array.isArray(manifest.figures) ||
    !Array.isArray(manifest.tables)
  ) {
    throw new Error(`${file}: not a version 1 figures manifest; ${fix}`);
  }
  return manifest;
}

/** Updates take milliseconds: a lock older than this was left by a killed or stuck process. */
const LOCK_STALE_MS = 30_000;

function byKey(a: { section: string; name: string }, b: { section: string; name: string }): number {
  return (
    a.section.localeCompare(b.section, "en", { numeric: true }) ||
    a.name.localeCompare(b.name, "en", { numeric: true })
  );
}

/**
 * Reads the manifest, lets `update` change it (and the folder), and writes the result
 * atomically, all under the manifest's lock. Entries are kept sorted by section, then name.
 */
export function updateManifest(figuresDir: string, update: (manifest: Manifest) => Manifest): void {
  fs.mkdirSync(figuresDir, { recursive: true });
  withLockSync(
    path.join(figuresDir, "manifest.json.lock"),
    () => {
      const manifest = update(readManifest(figuresDir));
      manifest.figures.sort(byKey);
      manifest.tables.sort(byKey);
      writeFileAtomic(
        path.join(figuresDir, "manifest.json"),
        JSON.stringify(manifest, null, 2) + "\n",
      );
    },
    { what: "updating the figures manifest", staleMs: LOCK_STALE_MS, giveUpMs: 2 * LOCK_STALE_MS },
  );
}

/** Adds or replaces (same section and name, or claim text) an entry. */
export function recordInManifest(
  figuresDir: string,
  entry: { figure: FigureEntry } | { table: TableEntry } | { claim: ClaimEntry },
): void {
  updateManifest(figuresDir, (manifest) => {
    if ("claim" in entry) {
      const e = entry.claim;
      const kept = (manifest.claims ?? []).filter(
        (c) => c.section !== e.section || c.text !== e.text,
      );
      manifest.claims = [...kept, e];
    } else if ("figure" in entry) {
      const e = entry.figure;
      manifest.figures = manifest.figures.filter(
        (f) => f.section !== e.section || f.name !== e.name,
      );
      manifest.figures.push(e);
    } else {
      const e = entry.table;
      manifest.tables = manifest.tables.filter((f) => f.section !== e.section || f.name !== e.name);
      manifest.tables.push(e);
    }
    return manifest;
  });
}
