/**
 * What a main-job run did, notebook by notebook: `<out>/run-summary.json`, written at the
 * end of every run (also after a failure or an interrupt) and read by the figures README
 * and tools/test.sh.
 */
import * as path from "node:path";
import { writeFileAtomic } from "../lib/atomic-write";
import type { ClaimEntry } from "../lib/viz/manifest";

/** How a notebook's run ended ("not run": the job stopped before its turn). */
export type NotebookStatus =
  "ok" | "failed" | "timeout" | "kernel died" | "interrupted" | "not run";

export interface NotebookResult {
  notebook: string;
  section: string;
  status: NotebookStatus;
  /** status === "ok": the notebook ran to its end. */
  ok: boolean;
  seconds: number | null;
  /** Index of the cell that failed, timed out, or ran when the kernel died or the job stopped. */
  failedCell: number | null;
  /** What went wrong, in one line (null when ok). */
  message: string | null;
  /** Where the section's figures in the figures folder come from after this run. */
  figures: "this run" | "an earlier run" | "none";
  /** The executed notebook this run wrote, relative to the output folder. */
  executed: string | null;
  /** The lecture's claims this run checked, by verdict. */
  claims: ClaimCounts;
}

export interface ClaimCounts {
  confirmed: number;
  notConfirmed: number;
  /** Quick mode's data is too small to decide them. */
  notChecked: number;
}

export function countClaims(claims: readonly ClaimEntry[]): ClaimCounts {
  const n = (verdict: ClaimEntry["verdict"]) => claims.filter((c) => c.verdict === verdict).length;
  return {
    confirmed: n("confirmed"),
    notConfirmed: n("not confirmed"),
    notChecked: n("not checked in quick mode"),
  };
}

export function sumClaims(counts: readonly ClaimCounts[]): ClaimCounts {
  const sum = (k: keyof ClaimCounts) => counts.reduce((a, c) => a + c[k], 0);
  return {
    confirmed: sum("confirmed"),
    notConfirmed: sum("notConfirmed"),
    notChecked: sum("notChecked"),
  };
}

/** "12 confirmed, 1 NOT CONFIRMED, 3 not checked in quick mode"; "none" when there are none. */
export function describeClaims(c: ClaimCounts): string {
  const parts = [
    c.confirmed > 0 ? `${c.confirmed} confirmed` : "",
    c.notConfirmed > 0 ? `${c.notConfirmed} NOT CONFIRMED` : "",
    c.notChecked > 0 ? `${c.notChecked} not checked in quick mode` : "",
  ].filter((p) => p !== "");
  return parts.length === 0 ? "none" : parts.join(", ");
}

export interface RunSummary {
  version: 3;
  status: "ok" | "failed" | "interrupted";
  /** The command, as the user would type it again. */
  command: string;
  quick: boolean;
  /** ISO times. */
  startedAt: string;
  finishedAt: string;
  notebooks: NotebookResult[];
}

const SUMMARY_FILE = "run-summary.json";

export function writeRunSummary(outDir: string, summary: RunSummary): void {
  writeFileAtomic(path.join(outDir, SUMMARY_FILE), JSON.stringify(summary, null, 2) + "\n");
}

/** "ok", "failed in cell 3: Error: boom", "cell 3 exceeded 60 s (...)", "not run (...)" */
export function describeResult(r: NotebookResult): string {
  if (r.status === "ok") return "ok";
  if (r.status === "not run") return "not run (the job stopped before it)";
  if (r.status === "failed") return `failed in cell ${r.failedCell ?? "?"}: ${r.message ?? "?"}`;
  // The executor's messages for timeouts, kernel deaths and interrupts name the cell.
  return r.message ?? `${r.status} in cell ${r.failedCell ?? "?"}`;
}
