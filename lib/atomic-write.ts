/** Writing files so that a crash never leaves one half-written: every writer in lib/ uses this. */
import * as fs from "node:fs";
import * as path from "node:path";

let counter = 0;

/**
 * Writes `data` to `file` through a temporary file in the same folder and a rename
 * (atomic on POSIX), creating the folder when needed. `fsync` flushes the data to disk
 * before the rename (for checkpoints, which must survive a power cut whole or not at all).
 */
export function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  options: { fsync?: boolean } = {},
): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${++counter}.tmp`;
  try {
    const fd = fs.openSync(tmp, "w");
    try {
      fs.writeFileSync(fd, data);
      if (options.fsync === true) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
