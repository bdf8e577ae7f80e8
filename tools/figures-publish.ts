/**
 * The main job runs each notebook with its own staging figures folder and moves the new
 * figures over the previous ones only once the notebook has succeeded: a failed or
 * interrupted run leaves the previous figures, manifest entries and README intact.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readManifest, updateManifest, type SectionRun } from "../lib/viz/manifest";

/**
 * Replaces the figures of `section` (and of any other section the staged run wrote) in
 * `figuresDir` by those staged in `stagingDir`: the section folders are swapped by rename
 * and the manifest entries (figures, tables, claims) replaced, under the manifest lock. Returns the sections replaced.
 */
export function publishSection(
  figuresDir: string,
  stagingDir: string,
  section: string,
  run: SectionRun,
): string[] {
  const staged = readManifest(stagingDir);
  const stagedClaims = staged.claims ?? [];
  const sections = [
    ...new Set([
      section,
      ...[...staged.figures, ...staged.tables, ...stagedClaims].map((e) => e.section),
    ]),
  ].sort();
  const trash = path.join(stagingDir, ".previous");
  updateManifest(figuresDir, (manifest) => {
    fs.mkdirSync(trash, { recursive: true });
    for (const s of sections) {
      const current = path.join(figuresDir, s);
      const fresh = path.join(stagingDir, s);
      if (fs.existsSync(current)) fs.renameSync(current, path.join(trash, s));
      if (fs.existsSync(fresh)) fs.renameSync(fresh, current);
    }
    const replaced = (e: { section: string }): boolean => sections.includes(e.section);
    const runs = { ...(manifest.runs ?? {}) };
    for (const s of sections) runs[s] = run;
    return {
      ...manifest,
      figures: [...manifest.figures.filter((e) => !replaced(e)), ...staged.figures],
      tables: [...manifest.tables.filter((e) => !replaced(e)), ...staged.tables],
      claims: [...(manifest.claims ?? []).filter((e) => !replaced(e)), ...stagedClaims],
      runs,
    };
  });
  fs.rmSync(trash, { recursive: true, force: true });
  return sections;
}
