/** Writing output files so that a crash never leaves one half-written. */
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Writes `data` to `file` through a temporary file in the same folder and a rename
 * (atomic on POSIX), creating the folder when needed.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Writes PNG bytes to a file (atomically); returns the absolute path. */
export function writePng(file: string, png: Uint8Array): string {
  const abs = path.resolve(file);
  if (!abs.endsWith(".png")) throw new Error(`writePng: ${file} should end in .png`);
  writeFileAtomic(abs, png);
  return abs;
}
