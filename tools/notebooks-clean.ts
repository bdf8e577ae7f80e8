/**
 * Notebooks are committed without outputs. `--check` lists the notebooks that carry
 * outputs or execution counts (exit 1); without it, strips them in place.
 */
import * as fs from "node:fs";
import * as path from "node:path";

interface Cell {
  cell_type: string;
  outputs?: unknown[];
  execution_count?: number | null;
  metadata?: Record<string, unknown>;
}
interface Notebook {
  cells: Cell[];
  metadata: { kernelspec?: { name?: string } };
}

const root = path.resolve(__dirname, "..");
const dir = path.join(root, "notebooks");
const check = process.argv.includes("--check");
const problems: string[] = [];

for (const file of fs
  .readdirSync(dir)
  .filter((f) => f.endsWith(".ipynb"))
  .sort()) {
  const full = path.join(dir, file);
  const text = fs.readFileSync(full, "utf8");
  const nb = JSON.parse(text) as Notebook;
  const dirty = nb.cells.some(
    (c) =>
      c.cell_type === "code" &&
      ((c.outputs?.length ?? 0) > 0 || (c.execution_count ?? null) !== null),
  );
  if (nb.metadata.kernelspec?.name !== "tslab")
    problems.push(`${file}: kernelspec must be "tslab"`);
  if (!dirty) continue;
  if (check) {
    problems.push(`${file}: has outputs; run 'npx tsx tools/notebooks-clean.ts' to strip them`);
    continue;
  }
  for (const c of nb.cells) {
    if (c.cell_type !== "code") continue;
    c.outputs = [];
    c.execution_count = null;
  }
  fs.writeFileSync(full, JSON.stringify(nb, null, 1) + "\n");
  console.log(`stripped ${file}`);
}
if (problems.length > 0) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
if (check) console.log("notebooks: committed without outputs");
