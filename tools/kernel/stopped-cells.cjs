/**
 * Cleanup after Interrupt stopped a cell in the middle of its synchronous code.
 *
 * tslab runs a cell's code with vm's breakOnSigint: a SIGINT while it runs synchronously
 * (a cell without await, or before its first await) ends it at once, and no `finally` runs,
 * so tfjs's open tf.tidy scopes and kernel depth stayed as they were. Here the functions
 * that the library registers (lib/training/interrupt.ts) run after such a stop.
 */
"use strict";

/** Where the library registers its cleanups (a Set of functions). */
const CLEANUPS_KEY = Symbol.for("dlc7.kernel.afterStoppedCell");

function cleanAfterStoppedCells() {
  const vm = require("node:vm");
  const cleanups = new Set();
  globalThis[CLEANUPS_KEY] = cleanups;
  const run = vm.runInThisContext;
  vm.runInThisContext = function () {
    try {
      return run.apply(this, arguments);
    } catch (e) {
      if (e && e.code === "ERR_SCRIPT_EXECUTION_INTERRUPTED") {
        for (const cleanup of cleanups) {
          try {
            cleanup();
          } catch (failed) {
            process.stderr.write(`kernel: a cleanup after Interrupt failed: ${failed}\n`);
          }
        }
      }
      throw e;
    }
  };
}

module.exports = { cleanAfterStoppedCells, CLEANUPS_KEY };
