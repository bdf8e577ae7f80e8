/** Writing files so that a crash never leaves one half-written: every writer in lib/ uses this. */
import * as fs from "node:fs";
import * as path from "node:path";

let counter = 0;

/** A failed write, naming the file (fs errors such as ENOSPC name no path). */
export class FileWriteError extends Error {
  readonly file: string;
  /** The fs error code (ENOSPC, EACCES, EROFS, ...), or "" when there is none. */
  readonly code: string;
  /** What went wrong, in words, without the file name. */
  readonly reason: string;

  constructor(file: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException).code ?? "";
    const reason = describeWriteError(code, cause);
    super(`${file}: cannot write it: ${reason}`, { cause });
    this.name = "FileWriteError";
    this.file = file;
    this.code = code;
    this.reason = reason;
  }
}

function describeWriteError(code: string, cause: unknown): string {
  switch (code) {
    case "ENOSPC":
      return "no space left on the disk (ENOSPC); free some space, or write elsewhere";
    case "EDQUOT":
      return "disk quota exceeded (EDQUOT); free some space, or write elsewhere";
    case "EACCES":
    case "EPERM":
      return `permission denied (${code}); make the folder writable, or write elsewhere`;
    case "EROFS":
      return "read-only file system (EROFS); write elsewhere";
    case "ENOTDIR":
    case "EEXIST":
      return `a file stands where a folder is needed (${code}); move it away`;
    default:
      return (cause as Error).message ?? String(cause);
  }
}

/**
 * Writes `data` to `file` through a temporary file in the same folder and a rename
 * (atomic on POSIX), creating the folder when needed. `fsync` flushes the data to disk
 * before the rename and the folder after it (for checkpoints, which must survive a power
 * cut whole or not at all).
 * Any failure is a FileWriteError naming `file`, and leaves no temporary file behind.
 */
export function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  options: { fsync?: boolean } = {},
): void {
  const tmp = `${file}.${process.pid}.${++counter}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
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
    throw new FileWriteError(file, e);
  }
  if (options.fsync === true) fsyncFolder(path.dirname(file));
}

/** Flushes a folder's entries (a rename is durable only then). */
function fsyncFolder(folder: string): void {
  let fd: number;
  try {
    fd = fs.openSync(folder, "r");
  } catch {
    return; // A folder we may write but not read: the data itself is flushed.
  }
  try {
    fs.fsyncSync(fd);
  } catch (e) {
    // Some file systems cannot flush a folder (EINVAL); the file is in place either way.
    if ((e as NodeJS.ErrnoException).code !== "EINVAL") throw new FileWriteError(folder, e);
  } finally {
    fs.closeSync(fd);
  }
}
