/**
 * Interrupt counters that JavaScript can read while it runs synchronously.
 *
 * Jupyter's Interrupt sends SIGINT to the kernel's process group. Node runs a SIGINT
 * listener only when the event loop is free, so a cell busy with a long synchronous loop
 * (encoding 10,000 images in batches, an eigen-decomposition) after an `await` ran to its
 * end, and Run All went on. Here a helper process in the kernel's process group receives the
 * same SIGINT and writes a byte to a pipe that a worker thread reads: the worker counts it in
 * shared memory, which the library's loops read at every step (lib/viz/kernel.ts,
 * interruptPending). The main thread's own SIGINT listeners (tslab's) are unchanged.
 *
 * Layout of the counters (Int32Array on a SharedArrayBuffer): [0] SIGINTs received, [1]
 * what [0] was when the cells running now were sent, [2] the running cell's execution count.
 */
"use strict";
const { Worker } = require("node:worker_threads");

/** Where the library finds the counters. */
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
 * Starts the helper and its worker (POSIX only: Windows has no process groups), publishes
 * the counters for the library and returns them; null where it cannot run.
 */
function countInterrupts() {
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
  globalThis[COUNTERS_KEY] = counters;
  return counters;
}

module.exports = { countInterrupts, COUNTERS_KEY };
