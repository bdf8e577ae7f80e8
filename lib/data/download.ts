/**
 * Downloads a file from the first mirror that serves it with the expected checksum.
 * The bytes are checked in memory, written to a temporary file next to the target and
 * renamed onto it only then, so the cache never holds a partial or unverified file.
 * Offline, it fails fast: name resolution fails at once, and a mirror that does not
 * answer within `headerTimeoutMs` is skipped.
 */
import { FileWriteError, writeFileAtomic } from "../atomic-write";
import { DataError } from "./data-error";
import { verifyChecksum, type Checksum } from "./checksums";

export interface DownloadOptions {
  /** Give up on a mirror whose response headers have not come within this time (default 5 s). */
  readonly headerTimeoutMs?: number;
  /** Give up on a body that has not fully arrived within this time (default 120 s). */
  readonly bodyTimeoutMs?: number;
}


/**
 * Fetches `urls` in order until one gives bytes with the `expected` checksum, and stores
 * them at `dest` (via a temp file and a rename). Returns the URL used. Throws a DataError
 * naming `dest` and every mirror's failure when none works.
 */
export async function downloadVerified(
  urls: readonly string[],
  dest: string,
  expected: Checksum,
  options: DownloadOptions = {},
): Promise<string> {
  const failures: string[] = [];
  for (const url of urls) {
    let bytes: Uint8Array;
    try {
      bytes = await fetchBytes(url, options);
    } catch (e) {
      failures.push(`${url}: ${describe(e)}`);
      continue;
    }
    try {
      verifyChecksum(bytes, expected, url, "this mirror serves a different file");
    } catch (e) {
      failures.push((e as Error).message);
      continue;
    }
    writeAtomically(dest, bytes);
    return url;
  }
  throw new DataError(
    dest,
    `could not download it (${failures.join("; ") || "no mirror given"}); ` +
      `if this machine is offline, copy the file there by hand or set the dataset's directory variable`,
  );
}

/** Writes bytes to `dest` atomically; a failure is a DataError that says what to check. */
function writeAtomically(dest: string, bytes: Uint8Array): void {
  try {
    writeFileAtomic(dest, bytes);
  } catch (e) {
    const reason = e instanceof FileWriteError ? e.reason : describe(e);
    throw new DataError(dest, `cannot write it: ${reason}`);
  }
}

async function fetchBytes(url: string, options: DownloadOptions): Promise<Uint8Array> {
  const controller = new AbortController();
  const headerTimer = setTimeout(() => controller.abort(), options.headerTimeoutMs ?? 5000);
  let response: Response;
  try {
    response = await fetch(url, { signal: controller.signal, redirect: "follow" });
  } finally {
    clearTimeout(headerTimer);
  }
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
  const bodyTimer = setTimeout(() => controller.abort(), options.bodyTimeoutMs ?? 120_000);
  try {
    return new Uint8Array(await response.arrayBuffer());
  } finally {
    clearTimeout(bodyTimer);
  }
}

function describe(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === "AbortError") return "timed out";
  const cause = err.cause?.code ?? err.cause?.message;
  return cause ? `${err.message} (${cause})` : err.message;
}
