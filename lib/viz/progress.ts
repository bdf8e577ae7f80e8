/**
 * Progress of a long loop (training, evaluation): one output rewritten in place in a
 * notebook, a bar on a terminal, a line every few seconds in piped logs. A saved
 * notebook keeps only the final state of the one output, never a line per step.
 *
 * Every form is one line of at most `width` (100) characters: label, epoch, bar, percent,
 * rate, time left, the current metrics (loss) once. Per-epoch train and test figures
 * belong in the training log's table, not here.
 */
import { inNotebook, newDisplayId, publish } from "../kernel/display";
import { escapeHtml } from "./html";
import { formatCount, formatDuration, formatNumber } from "./format";

/** Where progress goes; "auto" picks notebook, then terminal (stderr is a TTY), then log. */
export type ProgressMode = "auto" | "notebook" | "terminal" | "log" | "silent";

export interface ProgressOptions {
  /** Number of units of work (images, batches, steps) the loop will do; > 0. */
  total: number;
  /** What is running, e.g. "AE d=8". */
  label: string;
  /** Unit of `total`, e.g. "img" (default "it"). */
  unit?: string;
  /** Number of epochs, shown as "epoch 1/2" when updates carry an `epoch` metric. */
  epochs?: number;
  /** Default "auto". */
  mode?: ProgressMode;
  /** Log mode: seconds between lines (default 5). */
  logEverySeconds?: number;
  /** Longest line in characters (default 100, or the terminal's width when narrower). */
  width?: number;
  /** Terminal/log output (default: process.stderr). For tests. */
  write?: (text: string) => void;
  /** Clock in milliseconds (default: performance.now). For tests. */
  now?: () => number;
}

const NOTEBOOK_INTERVAL_MS = 250;
const TERMINAL_INTERVAL_MS = 100;
const LINE_WIDTH = 100;
/** Characters of the text bar, and the fewest it shrinks to on a crowded line. */
const BAR = 20;
const MIN_BAR = 10;
/** A label is cut to this many characters before the metrics are. */
const MIN_LABEL = 12;

/** Tracks `done` out of `total` and reports it with rate and time left. */
export class Progress {
  private readonly total: number;
  private readonly label: string;
  private readonly unit: string;
  private readonly epochs: number | undefined;
  private readonly mode: Exclude<ProgressMode, "auto">;
  private readonly logEveryMs: number;
  private readonly width: number;
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
    this.epochs = options.epochs;
    this.mode = resolveMode(options.mode ?? "auto");
    this.logEveryMs = logEvery * 1000;
    const columns = this.mode === "terminal" ? process.stderr.columns : undefined;
    // A terminal line that wraps cannot be rewritten in place.
    this.width = options.width ?? Math.min(LINE_WIDTH, columns ? columns - 1 : LINE_WIDTH);
    this.write = options.write ?? ((text) => void process.stderr.write(text));
    this.now = options.now ?? (() => performance.now());
    this.startMs = this.now();
    this.lastShownMs = this.startMs;
    this.displayId = newDisplayId();
  }

  /**
   * Reports `done` units finished so far (cumulative), with the current metrics: an
   * `epoch` entry is shown as "epoch 2/5", the others (loss, ...) as "loss 0.0213".
   */
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
        if (!this.shownOnce || since >= NOTEBOOK_INTERVAL_MS) this.showNotebook(t);
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

  /**
   * Shows the final state (always, whatever the throttling). A `summary` (e.g. "interrupted
   * at epoch 1, step 212; nothing saved") takes the place of the epoch and the metrics, cut
   * to the width if it must be.
   */
  finish(summary?: string): void {
    if (this.finished) return;
    this.finished = true;
    const t = this.now();
    switch (this.mode) {
      case "notebook":
        this.showNotebook(t, summary);
        break;
      case "terminal":
        this.write(`\r${this.line(t, summary)}\x1b[K\n`);
        break;
      case "log":
        this.write(`${this.line(t, summary)}\n`);
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

  private showNotebook(t: number, summary?: string): void {
    // The HTML progress element stands for the text bar.
    const html =
      `<div style="font-family:monospace;white-space:pre">` +
      `<progress value="${this.done}" max="${this.total}" style="width:12em;vertical-align:middle"></progress> ` +
      `${escapeHtml(this.fitted(t, summary, false))}</div>`;
    publish(
      { "text/html": html, "text/plain": this.fitted(t, summary, true) },
      { displayId: this.displayId, update: this.shownOnce },
    );
    this.markShown(t);
  }

  /** The one-line text form, with a text bar, at most `width` characters. */
  private line(t: number, summary?: string): string {
    return this.fitted(t, summary, true);
  }

  /**
   * The line cut to the width: later extras go first, then the text bar shrinks, then (for a
   * summary) the rate goes, then the label is cut to a few characters, then the last extra,
   * then the rest of the label.
   */
  private fitted(t: number, summary: string | undefined, withBar: boolean): string {
    const parts = this.parts(t, summary);
    let barWidth = withBar ? BAR : 0;
    const bar = (): string => {
      if (barWidth === 0) return "";
      const filled = Math.round((this.done / this.total) * barWidth);
      return `[${"#".repeat(filled)}${".".repeat(barWidth - filled)}]`;
    };
    let label = this.label;
    let stats = parts.stats;
    const extras = [...parts.extras];
    const line = () =>
      [[label, parts.epoch, bar()].filter((s) => s !== "").join(" "), ...stats, ...extras]
        .filter((s) => s !== "")
        .join("  ");
    const over = () => line().length - this.width;
    while (extras.length > 1 && over() > 0) extras.pop();
    if (withBar && over() > 0) barWidth = Math.max(MIN_BAR, barWidth - over());
    // A summary (why it stopped) matters more than the rate.
    if (summary !== undefined && over() > 0) stats = stats.filter((s) => !s.endsWith("/s"));
    if (over() > 0) label = cut(label, Math.max(MIN_LABEL, label.length - over()));
    if (extras.length === 1 && over() > 0) {
      extras[0] = cut(extras[0]!, extras[0]!.length - over());
      if (extras[0] === "") extras.pop();
    }
    if (over() > 0) label = cut(label, label.length - over());
    return line();
  }

  /** What the line says besides the label and bar: epoch, stats, extras (metrics). */
  private parts(t: number, summary?: string): { epoch: string; stats: string[]; extras: string[] } {
    const seconds = (t - this.startMs) / 1000;
    const e = this.metrics.epoch;
    // A summary says where the loop stopped ("interrupted at epoch 1, step 212; ..."): the
    // epoch would only take its room.
    const epoch =
      e === undefined || summary !== undefined
        ? ""
        : `epoch ${e}${this.epochs === undefined ? "" : `/${this.epochs}`}`;
    const stats = [`${Math.floor((100 * this.done) / this.total)}%`];
    const rate = seconds > 0 ? this.done / seconds : 0;
    if (rate > 0) stats.push(`${formatCount(rate)} ${this.unit}/s`);
    if (this.finished) stats.push(`${formatDuration(seconds)} total`);
    else if (rate > 0) stats.push(`${formatDuration((this.total - this.done) / rate)} left`);
    const extras =
      summary !== undefined
        ? [summary]
        : Object.entries(this.metrics)
            .filter(([k]) => k !== "epoch")
            .map(([k, v]) => `${k} ${formatNumber(v)}`);
    return { epoch, stats, extras };
  }
}

/** `text` cut to `n` characters, the last one an ellipsis when cut. */
function cut(text: string, n: number): string {
  if (text.length <= n) return text;
  return n <= 1 ? "" : `${text.slice(0, n - 1).trimEnd()}…`;
}

function resolveMode(mode: ProgressMode): Exclude<ProgressMode, "auto"> {
  if (mode !== "auto") return mode;
  // The kernel first: a kernel started from a terminal may have a TTY stderr.
  if (inNotebook()) return "notebook";
  if (process.stderr.isTTY) return "terminal";
  return "log";
}
