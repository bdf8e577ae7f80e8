/** Writing picture files. */
import * as path from "node:path";
import { writeFileAtomic } from "../atomic-write";

/** Writes PNG bytes to a file (atomically); returns the absolute path. */
export function writePng(file: string, png: Uint8Array): string {
  const abs = path.resolve(file);
  if (!abs.endsWith(".png")) throw new Error(`writePng: ${file} should end in .png`);
  writeFileAtomic(abs, png);
  return abs;
}
