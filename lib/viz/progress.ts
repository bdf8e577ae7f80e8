/**
 * Progress of a long loop (training, evaluation): one output rewritten in place in a
 * notebook, a bar on a terminal, a line every few seconds in piped logs. A saved
 * notebook keeps only the final state of the one output, never a line per step.
 */
import { inNotebook, newDisplayId, publish } from "./kernel";
import { escapeHtml } from "./html";

/** Where progress goes; "auto" picks notebook, then terminal (stderr is a TTY), then log. */
export type ProgressMode = "auto" | "notebook" | "terminal" | "log" | "silent";

export interface ProgressOptions {
  /** Number of units of work (images, batches, steps) the loop will do; > 0. */
  total: number;
  /** What is running, e.g. "epoch 3/10". */
  label: string;
  /** Unit of `total`, e.g. "img" (default "it"). */
  unit?: string;
  /** Default "auto". */
  mode?: ProgressMode;
  /** Log mode: seconds between lines (default 5). */
  logEverySeconds?: number;
  /** Terminal/log output (default: process.stderr). For tests. */
  write?: (text: string) => void;
  /** Clock in milliseconds (default: performance.now). For tests. */
  now?: () => number;
}

const NOTEBOOK_INTERVAL_MS = 250;
const TERMINAL_INTERVAL_MS = 100;
const BAR_WIDTH = 24;

/** Tracks `done` out of `total` and reports it with rate and time left. */
export class Progress {
  private readonly total: number;
  private readonly label: string;
  private readonly unit: string;
  private readonly mode: Exclude<ProgressMode, "auto">;
  private readonly logEveryMs: number;
  private readonly write: (text: string) => void;
  private readonly now: () => number;
  private readonly startMs: number;
  private readonly displayId: string;
  private lastShownMs: number;
  private shownOnce = false;
  private done = 0;
  private metrics: Record<string, number> = {};
  private finished = false;

  constructor(options: ProgressOptions) {
    const { total, label } = options;
    if (!Number.isFinite(total) || total <= 0) {
      throw new Error(
        `Progress: total must be a positive number of ${options.unit ?? "items"}, got ${total}`,
      );
    }
    const logEvery = options.logEverySeconds ?? 5;
    if (!(logEvery >= 0))
      throw new Error(`Progress: logEverySeconds must be >= 0, got ${logEvery}`);
    this.total = total;
    this.label = label;
    this.unit = options.unit ?? "it";
    this.mode = resolveMode(options.mode ?? "auto");
    this.logEveryMs = logEvery * 1000;
    this.write = options.write ?? ((text) => void process.stderr.write(text));
    this.now = options.now ?? (() => performance.now());
    this.startMs = this.now();
    this.lastShownMs = this.startMs;
    this.displayId = newDisplayId();
  }

  /** Reports `done` units finished so far (cumulative), with optional metrics (loss, ...). */
  update(done: number, metrics?: Record<string, number>): void {
    if (this.finished) throw new Error(`Progress "${this.label}": update() after finish()`);
    if (!Number.isFinite(done) || done < 0) {
      throw new Error(`Progress "${this.label}": done must be a number >= 0, got ${done}`);
    }
    this.done = Math.min(done, this.total);
    if (metrics !== undefined) this.metrics = { ...metrics };
    const t = this.now();
    const since = t - this.lastShownMs;
    switch (this.mode) {
      case "notebook":
        if (!this.shownOnce || since >= NOTEBOOK_INTERVAL_MS) this.showNotebook(t, false);
        break;
      case "terminal":
        if (!this.shownOnce || since >= TERMINAL_INTERVAL_MS) {
          this.write(`\r${this.line(t)}\x1b[K`);
          this.markShown(t);
        }
        break;
      case "log":
        if (since >= this.logEveryMs) {
          this.write(`${this.line(t)}\n`);
          this.markShown(t);
        }
        break;
      case "silent":
        break;
    }
  }

  /** Shows the final state (always, whatever the throttling), with an optional summary. */
  finish(summary?: string): void {
    if (this.finished) return;
    this.finished = true;
    const t = this.now();
    const line = summary ? `${this.line(t)}  ${summary}` : this.line(t);
    switch (this.mode) {
      case "notebook":
        this.showNotebook(t, true, summary);
        break;
      case "terminal":
        this.write(`\r${line}\x1b[K\n`);
        break;
      case "log":
        this.write(`${line}\n`);
        break;
      case "silent":
        break;
    }
  }

  /** Seconds since construction. */
  elapsedSeconds(): number {
    return (this.now() - this.startMs) / 1000;
  }

  private markShown(t: number): void {
    this.lastShownMs = t;
    this.shownOnce = true;
  }

  private showNotebook(t: number, final: boolean, summary?: string): void {
    const text = summary ? `${this.line(t)}  ${summary}` : this.line(t);
    const html =
      `<div style="font-family:monospace;white-space:pre">` +
      `<progress value="${this.done}" max="${this.total}" style="width:12em;vertical-align:middle"></progress> ` +
      `${escapeHtml(summary ? `${this.stats(t, final)}  ${summary}` : this.stats(t, final))}</div>`;
    publish(
      { "text/html": html, "text/plain": text },
      { displayId: this.displayId, update: this.shownOnce },
    );
    this.markShown(t);
  }

  /** Plain one-line form with a text bar. */
  private line(t: number): string {
    const filled = Math.round((this.done / this.total) * BAR_WIDTH);
    const bar = "#".repeat(filled) + ".".repeat(BAR_WIDTH - filled);
    return `[${bar}] ${this.stats(t, this.finished)}`;
  }

  private stats(t: number, final: boolean): string {
    const seconds = (t - this.startMs) / 1000;
    const percent = Math.floor((100 * this.done) / this.total);
    const parts = [
      `${this.label} ${String(percent).padStart(3)}% ${this.done}/${this.total} ${this.unit}`,
    ];
    const rate = seconds > 0 ? this.done / seconds : 0;
    if (rate > 0) parts.push(`${formatCount(rate)} ${this.unit}/s`);
    if (final) parts.push(`${formatDuration(seconds)} total`);
    else if (rate > 0) parts.push(`${formatDuration((this.total - this.done) / rate)} left`);
    const metrics = Object.entries(this.metrics).map(([k, v]) => `${k}=${formatNumber(v)}`);
    if (metrics.length > 0) parts.push(metrics.join(" "));
    return parts.join("  ");
  }
}

function resolveMode(mode: ProgressMode): Exclude<ProgressMode, "auto"> {
  if (mode !== "auto") return mode;
  // The kernel first: a kernel started from a terminal may have a TTY stderr.
  if (inNotebook()) return "notebook";
  if (process.stderr.isTTY) return "terminal";
  return "log";
}

/** 4 significant digits, without trailing zeros (0.03125 -> "0.03125", 1234.5 -> "1235"). */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return String(Number(v.toPrecision(4)));
}

/** Counts and rates: 950, 12.5, 4.1k, 2.3M. */
export function formatCount(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (Number.isInteger(v)) return String(v);
  return v >= 100 ? v.toFixed(0) : String(Number(v.toPrecision(3)));
}

/** 4.2 s, 3m05s, 1h02m. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
