/**
 * Lock files: created exclusively (O_EXCL), holding who took them, so that a lock left
 * by a process that has ended is recognised and taken over instead of blocking forever.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { FileWriteError } from "./atomic-write";

/** What a lock file says about its holder. */
export interface LockHolder {
  /** The lock file. */
  readonly file: string;
  /** Null when the file is empty or unreadable (being written, or not ours). */
  readonly pid: number | null;
  readonly host: string | null;
  /** What the holder is doing, in words (e.g. the command line). */
  readonly what: string | null;
  /** When the lock file was written (or last refreshed by its holder), in ms since 1970. */
  readonly mtimeMs: number;
  /** Milliseconds since then. */
  readonly ageMs: number;
}

/** Lock files this process holds: a lock naming this process but not in here was abandoned. */
const heldHere = new Set<string>();

/**
 * Creates `file` exclusively, holding this process's identity; false if it exists. A
 * failure to create it (read-only folder, ...) is a FileWriteError naming the file.
 */
export function tryLock(file: string, what = ""): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, "wx");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new FileWriteError(file, e);
  }
  try {
    fs.writeSync(fd, JSON.stringify({ pid: process.pid, host: os.hostname(), what }) + "\n");
  } finally {
    fs.closeSync(fd);
  }
  heldHere.add(file);
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
    file,
    pid: Number.isInteger(parsed.pid) ? (parsed.pid as number) : null,
    host: typeof parsed.host === "string" ? parsed.host : null,
    what: typeof parsed.what === "string" && parsed.what !== "" ? parsed.what : null,
    mtimeMs: stat.mtimeMs,
    ageMs: Date.now() - stat.mtimeMs,
  };
}

/**
 * False only when the holder is known to have ended: a process of this machine that is
 * gone, or this process when it no longer holds the lock (a call that was abandoned).
 */
export function holderAlive(holder: LockHolder): boolean {
  if (holder.pid === null || holder.host !== os.hostname()) return true;
  if (holder.pid === process.pid) return heldHere.has(holder.file);
  return processAlive(holder.pid);
}

/** Whether a process of this machine with that id exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  return !zombie(pid);
}

/** A process that has ended but that its parent has not reaped yet (Linux's /proc). */
function zombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (command) state ...": the command may hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false;
  }
}

/** "pid 123 on host (what)" */
export function describeHolder(holder: LockHolder): string {
  if (holder.pid === null) return "an unknown process (its lock file is empty or unreadable)";
  return `pid ${holder.pid} on ${holder.host ?? "?"}${holder.what ? ` (${holder.what})` : ""}`;
}

/**
 * How long a lock may stay empty or half-written while its holder starts: it writes its
 * name right after creating the file, but under load a reader can come in between.
 */
const STARTING_MS = 5000;

/** True for a lock whose holder has created it and not yet written who it is. */
function starting(holder: LockHolder): boolean {
  return holder.pid === null && holder.ageMs < STARTING_MS;
}

/** Removes `file` if this process holds it. */
export function releaseLock(file: string): void {
  const holder = readLockHolder(file);
  if (holder !== null && holder.pid === process.pid && holder.host === os.hostname()) {
    fs.rmSync(file, { force: true });
  }
  heldHere.delete(file);
}

/**
 * Removes a lock judged stale, unless it changed since `seen` was read (its holder
 * refreshed it, or another process took it over meanwhile). Two processes taking over the
 * same lock at once go through `<file>.steal`, held for a moment, so that neither removes
 * the fresh lock of the other. Returns false when it did not remove it (look again).
 */
export function removeStaleLock(seen: LockHolder): boolean {
  const steal = `${seen.file}.steal`;
  if (!tryLock(steal, "taking over a stale lock")) {
    const stealer = readLockHolder(steal);
    // Held for microseconds: one still there after a second was left by a process that died.
    if (stealer !== null && (!holderAlive(stealer) || stealer.ageMs > 1000)) {
      fs.rmSync(steal, { force: true });
    }
    return false;
  }
  try {
    const now = readLockHolder(seen.file);
    if (now === null) return true;
    const same =
      now.pid === seen.pid &&
      now.host === seen.host &&
      now.what === seen.what &&
      now.mtimeMs === seen.mtimeMs;
    if (!same) return false;
    fs.rmSync(seen.file, { force: true });
    return true;
  } finally {
    releaseLock(steal);
  }
}

function staleness(holder: LockHolder, staleMs: number): string | null {
  if (!holderAlive(holder)) return "a process that has ended";
  if (holder.ageMs > staleMs) return `not refreshed for ${(holder.ageMs / 1000).toFixed(0)} s`;
  return null;
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
    const stale = staleness(holder, options.staleMs);
    if (stale !== null) {
      if (removeStaleLock(holder)) {
        console.warn(`${file}: removed a lock left by ${describeHolder(holder)}, ${stale}`);
      } else sleepSync(5);
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

/** A lock taken by acquireLock. */
export interface HeldLock {
  readonly file: string;
  /** Whether another holder had it first (what it made may now exist). */
  readonly waited: boolean;
  /** Stops the refreshes and removes the lock. */
  release(): void;
}

/**
 * Takes `file` for a long task (training), waiting as long as a live holder has it. The
 * holder refreshes the file's time every `refreshMs`, so a lock whose holder has ended, or
 * that nobody refreshed for `staleMs` (a process of another machine), is taken over.
 * `onWait(holder)` is called once, when waiting starts, or, for a holder still writing its
 * lock, once it has said who it is. Throws FileWriteError when the lock
 * file cannot be created (a read-only folder, ...).
 */
export async function acquireLock(
  file: string,
  options: {
    what: string;
    staleMs: number;
    refreshMs: number;
    pollMs: number;
    onWait?: (holder: LockHolder) => void;
    onTakeOver?: (holder: LockHolder, why: string) => void;
  },
): Promise<HeldLock> {
  let waited = false;
  let announced = false;
  while (!tryLock(file, options.what)) {
    const holder = readLockHolder(file);
    if (holder === null) continue;
    const stale = staleness(holder, options.staleMs);
    if (stale !== null) {
      if (removeStaleLock(holder)) {
        options.onTakeOver?.(holder, stale);
        continue;
      }
    } else {
      // A holder still starting is named once it has written its lock.
      if (!announced && !starting(holder)) {
        options.onWait?.(holder);
        announced = true;
      }
      waited = true;
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
  const refresh = setInterval(() => {
    const holder = readLockHolder(file);
    if (holder?.pid !== process.pid || holder.host !== os.hostname()) return;
    const now = new Date();
    try {
      fs.utimesSync(file, now, now);
    } catch {
      // Removed meanwhile: release() has nothing to do either.
    }
  }, options.refreshMs);
  refresh.unref();
  return {
    file,
    waited,
    release: () => {
      clearInterval(refresh);
      releaseLock(file);
    },
  };
}
