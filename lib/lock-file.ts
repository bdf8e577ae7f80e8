/**
 * Lock files: created exclusively (O_EXCL), holding who took them, so that a lock left
 * by a process that has ended is recognised and taken over instead of blocking forever.
 */
import * as fs from "node:fs";
import * as os from "node:os";

/** What a lock file says about its holder. */
export interface LockHolder {
  /** Null when the file is empty or unreadable (being written, or not ours). */
  readonly pid: number | null;
  readonly host: string | null;
  /** What the holder is doing, in words (e.g. the command line). */
  readonly what: string | null;
  /** Milliseconds since the lock file was written. */
  readonly ageMs: number;
}

/** Creates `file` exclusively, holding this process's identity; false if it exists. */
export function tryLock(file: string, what = ""): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, "wx");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new Error(
      `${file}: cannot create the lock file (${(e as Error).message}); check that its folder is writable`,
    );
  }
  try {
    fs.writeSync(fd, JSON.stringify({ pid: process.pid, host: os.hostname(), what }) + "\n");
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** The holder of `file`, or null when there is no lock. */
export function readLockHolder(file: string): LockHolder | null {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (stat === undefined) return null;
  let parsed: { pid?: unknown; host?: unknown; what?: unknown } = {};
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8")) as typeof parsed;
  } catch {
    // Empty while its creator writes it, or removed meanwhile.
  }
  return {
    pid: Number.isInteger(parsed.pid) ? (parsed.pid as number) : null,
    host: typeof parsed.host === "string" ? parsed.host : null,
    what: typeof parsed.what === "string" && parsed.what !== "" ? parsed.what : null,
    ageMs: Date.now() - stat.mtimeMs,
  };
}

/** False only when the holder is known to have ended: a process of this machine that is gone. */
export function holderAlive(holder: LockHolder): boolean {
  if (holder.pid === null || holder.host !== os.hostname()) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** "pid 123 on host (what)" */
export function describeHolder(holder: LockHolder): string {
  return `pid ${holder.pid ?? "?"} on ${holder.host ?? "?"}${holder.what ? ` (${holder.what})` : ""}`;
}

/** Removes `file` if this process holds it. */
export function releaseLock(file: string): void {
  const holder = readLockHolder(file);
  if (holder !== null && holder.pid === process.pid && holder.host === os.hostname()) {
    fs.rmSync(file, { force: true });
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs `body` holding `file`, for short critical sections. A lock whose holder has ended,
 * or older than `staleMs` (no update takes that long), is removed with a note on stderr; a
 * live, recent one is waited for. Gives up, naming the holder, after `giveUpMs`.
 */
export function withLockSync<T>(
  file: string,
  body: () => T,
  options: { what: string; staleMs: number; giveUpMs: number },
): T {
  const started = Date.now();
  while (!tryLock(file, options.what)) {
    const holder = readLockHolder(file);
    if (holder === null) continue;
    const alive = holderAlive(holder);
    if (!alive || holder.ageMs > options.staleMs) {
      console.warn(
        `${file}: removing a lock left by ${describeHolder(holder)}, ` +
          (alive ? `held for ${(holder.ageMs / 1000).toFixed(0)} s` : "a process that has ended"),
      );
      fs.rmSync(file, { force: true });
    } else if (Date.now() - started > options.giveUpMs) {
      throw new Error(
        `${file}: waited ${(options.giveUpMs / 1000).toFixed(0)} s for this lock, held by ` +
          `${describeHolder(holder)} for ${(holder.ageMs / 1000).toFixed(0)} s; ` +
          "if that process is not working on this folder, delete the lock file",
      );
    } else sleepSync(20);
  }
  try {
    return body();
  } finally {
    releaseLock(file);
  }
}
