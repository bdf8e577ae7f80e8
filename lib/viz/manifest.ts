/**
 * The figures manifest (`<figuresDir>/manifest.json`): one entry per saved figure and
 * table with where it came from (notebook, cell, seed, backend, dataset) and the
 * sha256 of each file, so that runs can be compared and a README generated from it.
 *
 * Several kernels may save at once (the main job can run notebooks in parallel), so
 * every update takes a lock file, re-reads the manifest, and replaces it by rename.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../atomic-write";

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

export interface FigureEntry extends Provenance {
  section: string;
  name: string;
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
  caption: string;
  rows: number;
  columns: string[];
  files: ManifestFile[];
}

export interface Manifest {
  version: 1;
  figures: FigureEntry[];
  tables: TableEntry[];
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

/** The run state from env DLC_RUN_STATE, or null when the variable is unset. */
export function readRunState(env: NodeJS.ProcessEnv = process.env): RunState | null {
  const file = env.DLC_RUN_STATE;
  if (file === undefined || file === "") return null;
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
export function provenance(
  context: { seed: number; backend: string; dataset: string; quick: boolean },
  env: NodeJS.ProcessEnv = process.env,
): Provenance {
  const state = readRunState(env);
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
  if (!fs.existsSync(file)) return { version: 1, figures: [], tables: [] };
  const manifest = JSON.parse(fs.readFileSync(file, "utf8")) as Manifest;
  if (
    manifest.version !== 1 ||
    !Array.isArray(manifest.figures) ||
    !Array.isArray(manifest.tables)
  ) {
    throw new Error(`${file}: not a version 1 figures manifest; delete it and re-run`);
  }
  return manifest;
}

const LOCK_WAIT_MS = 10_000;
const LOCK_STALE_MS = 30_000;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function withLock<T>(lockFile: string, body: () => T): T {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      fs.closeSync(fs.openSync(lockFile, "wx"));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      // A lock older than any real update was left by a killed process.
      const age =
        Date.now() - (fs.statSync(lockFile, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > LOCK_STALE_MS) fs.rmSync(lockFile, { force: true });
      else if (Date.now() > deadline) {
        throw new Error(
          `${lockFile} has been held for ${LOCK_WAIT_MS / 1000} s; remove it if no run is going on`,
        );
      } else sleepSync(20);
    }
  }
  try {
    return body();
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}

function byKey(a: { section: string; name: string }, b: { section: string; name: string }): number {
  return (
    a.section.localeCompare(b.section, "en", { numeric: true }) ||
    a.name.localeCompare(b.name, "en", { numeric: true })
  );
}

/**
 * Adds or replaces (same section and name) an entry, under the lock, and rewrites
 * the manifest atomically, entries sorted by section then name.
 */
export function recordInManifest(
  figuresDir: string,
  entry: { figure: FigureEntry } | { table: TableEntry },
): void {
  fs.mkdirSync(figuresDir, { recursive: true });
  withLock(path.join(figuresDir, "manifest.json.lock"), () => {
    const manifest = readManifest(figuresDir);
    if ("figure" in entry) {
      const e = entry.figure;
      manifest.figures = manifest.figures.filter(
        (f) => f.section !== e.section || f.name !== e.name,
      );
      manifest.figures.push(e);
      manifest.figures.sort(byKey);
    } else {
      const e = entry.table;
      manifest.tables = manifest.tables.filter((f) => f.section !== e.section || f.name !== e.name);
      manifest.tables.push(e);
      manifest.tables.sort(byKey);
    }
    writeFileAtomic(
      path.join(figuresDir, "manifest.json"),
      JSON.stringify(manifest, null, 2) + "\n",
    );
  });
}
