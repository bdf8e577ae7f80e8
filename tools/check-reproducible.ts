/**
 * Compares two figure folders written by the main job: every PNG figure must be
 * byte-identical (same SHA-256), except figures marked as depending on wall time.
 *   npx tsx tools/check-reproducible.ts <run a>/figures <run b>/figures
 */
import { UsageError, parseCommandLine, runCli } from "./cli";
import { readManifest } from "./figures-readme";

runCli("check-reproducible", "usage: check-reproducible <figuresDirA> <figuresDirB>", () => {
  const args = { args: process.argv.slice(2), allowPositionals: true };
  const [a, b, extra] = parseCommandLine(args).positionals;
  if (a === undefined || b === undefined || extra !== undefined)
    throw new UsageError("give the two figures folders to compare");
  return compare(a, b);
});

/** 0 when every PNG figure of run `b`'s sections is byte-identical in run `a`, else 1. */
function compare(a: string, b: string): number {
  // Only the sections the second run executed are compared (it may run a subset).
  const secondEntries = readManifest(b).figures;
  const sections = new Set(secondEntries.map((f) => f.section));
  const first = readManifest(a).figures.filter((f) => sections.has(f.section));
  const second = new Map(secondEntries.map((f) => [`${f.section}/${f.name}`, f]));
  let compared = 0;
  const differ: string[] = [];
  for (const f of first) {
    const key = `${f.section}/${f.name}`;
    const g = second.get(key);
    if (g === undefined) {
      differ.push(`${key}: missing from the second run`);
      continue;
    }
    for (const file of f.files.filter((x) => x.path.endsWith(".png"))) {
      const other = g.files.find((x) => x.path === file.path);
      compared++;
      if (other?.sha256 !== file.sha256)
        differ.push(`${file.path}: ${file.sha256} vs ${other?.sha256 ?? "missing"}`);
    }
  }
  if (compared === 0) differ.push("no PNG figure to compare");
  if (differ.length > 0) {
    console.error(`reproducibility: ${differ.length} difference(s):\n  ${differ.join("\n  ")}`);
    return 1;
  }
  console.log(`reproducibility: ${compared} PNG figure(s) byte-identical across two runs`);
  return 0;
}
