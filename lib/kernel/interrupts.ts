/**
 * Interrupt (Jupyter's button, Ctrl-C: both send SIGINT), as the library's loops see it.
 *
 * Node runs a SIGINT listener only when the event loop is free, so a cell busy with a long
 * synchronous loop (encoding 10,000 images in batches, an eigen-decomposition) ran to its
 * end, and Run All went on. So the kernel launcher (`countInterrupts`) starts a helper
 * process in the kernel's process group, which receives the same SIGINT and writes a byte
 * to a pipe that a worker thread reads: the worker counts it in shared memory, which loops
 * read at every step (`interruptPending`). The main thread's own listeners (tslab's) are
 * unchanged.
 *
 * tslab answers SIGINT by ending the running cell at once ("Interrupted asynchronously")
 * while the cell's code goes on in the background: a training would run to its end and save
 * its checkpoint. So while a loop watches (`watchInterrupts`), SIGINT is the loop's: it sees
 * `requested` between steps, stops, frees what it made and throws, which ends the cell
 * itself. When no loop watches, tslab's own handler runs as before; in a kernel the cell
 * execution it interrupted is remembered, so that the rest of that cell, still running in
 * the background, starts no training (`cellInterrupted`). Outside a kernel nothing stays
 * installed: once the loop ends, Ctrl-C ends a script as usual.
 */
import { Worker } from "node:worker_threads";
import { currentExecution, inKernel } from "./tslab";

/**
 * Where the library finds the launcher's counters (Int32Array on a SharedArrayBuffer): [0]
 * SIGINTs received, [1] what [0] was when the cells running now (one cell, or a Run All)
 * were sent, [2] the running cell's execution count.
 */
const COUNTERS_KEY = Symbol.for("dlc7.kernel.interrupts");

// The helper: answers each SIGINT with a byte; ends when the kernel (its stdin) is gone.
const HELPER = `process.on("SIGINT", () => process.stdout.write("i"));
process.stdin.on("end", () => process.exit(0)).resume();`;

// The worker: starts the helper and counts its bytes, on an event loop of its own. A helper
// that a SIGINT killed before it listened (the first ~50 ms) is started again.
const WORKER = `"use strict";
const { workerData } = require("node:worker_threads");
const { spawn } = require("node:child_process");
const counters = workerData.counters;
let starts = 0;
function start() {
  starts += 1;
  const helper = spawn(workerData.node, ["-e", workerData.helper], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  helper.stdout.on("data", (bytes) => Atomics.add(counters, 0, bytes.length));
  helper.on("exit", (code, signal) => {
    if (signal === "SIGINT") Atomics.add(counters, 0, 1);
    if (signal === "SIGINT" && starts < 5) start();
  });
}
start();`;

/**
 * In the kernel launcher: starts the helper and its worker (POSIX only: Windows has no
 * process groups), publishes the counters for the library and returns them; null where it
 * cannot run.
 */
export function countInterrupts(): Int32Array | null {
  if (process.platform === "win32") return null;
  const counters = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { counters, node: process.execPath, helper: HELPER },
  });
  worker.on("error", (e) =>
    process.stderr.write(`kernel: Interrupt will wait for the event loop (${e.message})\n`),
  );
  worker.unref(); // the kernel ends when Jupyter says so, whatever the worker does
  (globalThis as { [COUNTERS_KEY]?: Int32Array })[COUNTERS_KEY] = counters;
  return counters;
}

function kernelCounters(): Int32Array | null {
  const counters = (globalThis as { [COUNTERS_KEY]?: unknown })[COUNTERS_KEY];
  return counters instanceof Int32Array && counters.length >= 3 ? counters : null;
}

/**
 * True when Interrupt was pressed since the cells running now were sent (the cell, or the
 * rest of a Run All). False outside the project's kernel. One read of shared memory: cheap
 * enough for every step of a loop.
 */
export function interruptPending(): boolean {
  const c = kernelCounters();
  return c !== null && Atomics.load(c, 0) !== Atomics.load(c, 1);
}

/** "In [7]" for the cell running now in the project's kernel; null elsewhere. */
export function runningCellLabel(): string | null {
  const c = kernelCounters();
  const count = c === null ? 0 : Atomics.load(c, 2);
  return count > 0 ? `In [${count}]` : null;
}

export interface InterruptWatch {
  /** True once SIGINT arrived during the watch (or the cell was interrupted before it). */
  readonly requested: boolean;
  /** Ends the watch. */
  release(): void;
}

type Listener = (signal: NodeJS.Signals) => void;

const watching = new Set<{ requested: boolean }>();
/** The SIGINT listeners we took over (tslab's), called when no loop watches. */
let others: Listener[] = [];
/** In a kernel SIGINT becomes ours for good (we pass it on when no loop watches). */
let kernelTakeOver = false;
/** The cell execution a SIGINT outside any loop interrupted (kernel only). */
let interruptedExecution: object | null = null;

function onSigint(signal: NodeJS.Signals): void {
  if (watching.size > 0) {
    for (const w of watching) w.requested = true;
    return;
  }
  interruptedExecution = currentExecution();
  for (const l of others) l.call(process, signal);
}

function takeOver(): void {
  others = (process.listeners("SIGINT") as Listener[]).filter((l) => l !== onSigint);
  for (const l of others) process.removeListener("SIGINT", l);
  if (!process.listeners("SIGINT").includes(onSigint)) process.on("SIGINT", onSigint);
}

function giveBack(): void {
  process.removeListener("SIGINT", onSigint);
  for (const l of others) process.on("SIGINT", l);
  others = [];
}

/**
 * True when Interrupt stopped the running cell (kernel only): pressed since the running
 * cells were sent, or a SIGINT that no loop watched ended this execution. The rest of such a
 * cell, still running in the background, should start nothing long.
 */
export function cellInterrupted(): boolean {
  if (interruptPending()) return true;
  const now = currentExecution();
  return now !== null && now === interruptedExecution;
}

/**
 * Starts watching for SIGINT; call `release()` when the loop ends (in a `finally`). While
 * any watch is active, SIGINT only sets `requested`, which the loop reads after it yields
 * to the event loop (signals arrive there).
 */
export function watchInterrupts(): InterruptWatch {
  if (inKernel()) {
    // tslab runs a cell's synchronous part under vm's breakOnSigint, which removes the SIGINT
    // listeners meanwhile and, when it puts them back, leaves SIGINT unhandled (the kernel
    // dies of it) if one was added in between. So the kernel's listener is swapped on the
    // next turn of the event loop, which comes before the loop's first look at `requested`.
    if (!kernelTakeOver) setImmediate(takeOver);
    kernelTakeOver = true;
  } else if (watching.size === 0) {
    takeOver();
  }
  const w = { requested: cellInterrupted() };
  watching.add(w);
  return {
    get requested() {
      return w.requested;
    },
    release() {
      if (!watching.delete(w)) return;
      if (watching.size === 0 && !kernelTakeOver) giveBack();
    },
  };
}
