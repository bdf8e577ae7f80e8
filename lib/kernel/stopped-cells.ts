/**
 * Cleanup after Interrupt stopped a cell in the middle of its synchronous code.
 *
 * tslab runs a cell's code with vm's breakOnSigint: a SIGINT while it runs synchronously
 * (a cell without await, or before its first await) ends it at once, and no `finally` runs,
 * so what the code had opened stays open (tfjs's tf.tidy scopes and kernel depth). Here the
 * cleanups the library registers (`afterStoppedCell`) run after such a stop.
 */
import vm from "node:vm";

/** Where the launcher keeps the cleanups, for every copy of the library in the kernel. */
const CLEANUPS_KEY = Symbol.for("dlc7.kernel.afterStoppedCell");

type Cleanup = () => unknown;

/**
 * Runs `cleanup` after every cell that Interrupt stopped in its synchronous code (in the
 * project's kernel; elsewhere nothing stops a cell, and this does nothing).
 */
export function afterStoppedCell(cleanup: Cleanup): void {
  (globalThis as { [CLEANUPS_KEY]?: Set<Cleanup> })[CLEANUPS_KEY]?.add(cleanup);
}

/** In the kernel launcher: makes vm run the cleanups when it stops a script on SIGINT. */
export function cleanAfterStoppedCells(): void {
  const cleanups = new Set<Cleanup>();
  (globalThis as { [CLEANUPS_KEY]?: Set<Cleanup> })[CLEANUPS_KEY] = cleanups;
  const run = vm.runInThisContext;
  vm.runInThisContext = function (...args: Parameters<typeof run>): unknown {
    try {
      return run.apply(this, args);
    } catch (e) {
      if ((e as { code?: unknown } | null)?.code === "ERR_SCRIPT_EXECUTION_INTERRUPTED") {
        for (const cleanup of cleanups) {
          try {
            cleanup();
          } catch (failed) {
            process.stderr.write(`kernel: a cleanup after Interrupt failed: ${String(failed)}\n`);
          }
        }
      }
      throw e;
    }
  };
}
