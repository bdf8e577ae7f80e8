/**
 * Notebooks are committed clean: no outputs or execution counts, the tslab kernel, code cells
 * formatted like the rest of the code (prettier, 100 columns, no longer line), and an id on
 * every cell (nbformat 4.5 requires one: without, Jupyter's tools warn at every run).
 * `--check` lists what is not so (exit 1); without it, fixes it in place.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as prettier from "prettier";
import { parseCommandLine, runCli } from "./cli";

interface Cell {
  id?: string;
  cell_type: string;
  source: string | string[];
  outputs?: unknown[];
  execution_count?: number | null;
  metadata?: Record<string, unknown>;
}
interface Notebook {
  cells: Cell[];
  metadata: { kernelspec?: { name?: string } };
}

const WIDTH = 100;
const root = path.resolve(__dirname, "..");
const folders = ["notebooks", "assignments"].map((d) => path.join(root, d));

/** The cell's source as prettier formats it (no trailing newline, as Jupyter stores it). */
async function formatted(source: string, where: string): Promise<string> {
  try {
    const out = await prettier.format(source, { parser: "typescript", printWidth: WIDTH });
    return out.replace(/\n+$/, "");
  } catch (e) {
    throw new Error(`${where}: prettier cannot parse it (${(e as Error).message.split("\n")[0]})`);
  }
}

/** A cell id (8 hex digits) derived from `seed`, not in `taken`, which it joins. */
function newId(seed: string, taken: Set<string | undefined>): string {
  for (let k = 0; ; k++) {
    const id = createHash("sha256").update(`${seed} ${k}`).digest("hex").slice(0, 8);
    if (!taken.has(id)) {
      taken.add(id);
      return id;
    }
  }
}

/** The cell with its keys in nbformat's (sorted) order. */
const sortedKeys = (c: Cell): Cell =>
  Object.fromEntries(Object.entries(c).sort(([a], [b]) => (a < b ? -1 : 1))) as unknown as Cell;

/** Jupyter's source lines: every line but the last keeps its newline. */
function toLines(text: string): string[] {
  const lines = text.split("\n");
  return lines.map((l, i) => (i < lines.length - 1 ? `${l}\n` : l));
}

async function main(): Promise<number> {
  const options = { check: { type: "boolean" } } as const;
  const check = parseCommandLine({ args: process.argv.slice(2), options }).values.check === true;
  const problems: string[] = [];
  for (const dir of folders.filter((d) => fs.existsSync(d))) {
    for (const file of fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".ipynb"))
      .sort()) {
      const full = path.join(dir, file);
      const rel = path.relative(root, full);
      const nb = JSON.parse(fs.readFileSync(full, "utf8")) as Notebook;
      if (nb.metadata.kernelspec?.name !== "tslab")
        problems.push(`${rel}: kernelspec must be "tslab"`);
      let changed = false;
      const ids = new Set(nb.cells.map((c) => c.id));
      for (const [i, cell] of nb.cells.entries()) {
        let c = cell;
        if (c.id === undefined || c.id === "") {
          if (check) problems.push(`${rel} cell ${i}: has no id`);
          c.id = newId(`${rel} ${i} ${String(c.source)}`, ids);
          // The cell formatted below is the one written: the sorted copy.
          c = nb.cells[i] = sortedKeys(c);
          changed = true;
        }
        if (c.cell_type !== "code") continue;
        if ((c.outputs?.length ?? 0) > 0 || (c.execution_count ?? null) !== null) {
          if (check) problems.push(`${rel} cell ${i}: has outputs`);
          c.outputs = [];
          c.execution_count = null;
          changed = true;
        }
        const source = Array.isArray(c.source) ? c.source.join("") : c.source;
        const pretty = await formatted(source, `${rel} cell ${i}`);
        if (pretty !== source) {
          if (check) problems.push(`${rel} cell ${i}: not formatted`);
          c.source = toLines(pretty);
          changed = true;
        }
        const long = pretty.split("\n").filter((l) => l.length > WIDTH).length;
        if (long > 0) problems.push(`${rel} cell ${i}: ${long} line(s) over ${WIDTH} columns`);
      }
      if (changed && !check) {
        fs.writeFileSync(full, JSON.stringify(nb, null, 1) + "\n");
        console.log(`cleaned ${rel}`);
      }
    }
  }
  if (problems.length > 0) {
    for (const p of problems) console.error(p);
    if (check) console.error("run 'npx tsx tools/notebooks-clean.ts' to strip outputs and format");
    return 1;
  }
  if (check) console.log("notebooks: no outputs, code cells formatted, every cell with an id");
  return 0;
}

runCli("notebooks-clean", "usage: notebooks-clean [--check]", main);
