/**
 * The project's TypeScript kernel: tslab with its messages to Jupyter sent in order, none
 * lost (message-queue.ts), Interrupt counted where synchronous loops can see it
 * (interrupts.ts) and cleaned up after when it stopped a cell mid-way (stopped-cells.ts),
 * stack frames with the cells' own line numbers (cell-lines.ts), and a busy indicator that
 * stays busy through Run All (executions.ts). tools/tslab-kernel.cjs, kernel.json's argv,
 * runs `startKernel` from the compiled library.
 */
import * as path from "node:path";
import { mapCellLines } from "./cell-lines";
import { type TslabServerClasses, trackExecutions } from "./executions";
import { countInterrupts } from "./interrupts";
import { type ZeromqModule, serializeSends } from "./message-queue";
import { cleanAfterStoppedCells } from "./stopped-cells";

/** Runs one of the changes; one that fails is said on stderr, and tslab runs without it. */
function tryTo<T>(what: string, change: () => T, fallback: T): T {
  try {
    return change();
  } catch (e) {
    process.stderr.write(`kernel: ${what} is off (${(e as Error).stack ?? String(e)})\n`);
    return fallback;
  }
}

/**
 * Changes tslab, as installed in the project at `root`, then starts it with the process's
 * arguments (`kernel --config-path <connection file>`).
 */
export function startKernel(root: string): void {
  const fromProject = (name: string): unknown => require(require.resolve(name, { paths: [root] }));
  serializeSends(fromProject("zeromq") as ZeromqModule);
  // The TypeScript tslab compiles with, as tslab resolves it, wrapped before tslab loads it.
  let cellCount = (): number => 0;
  tryTo(
    "mapping stack frames to cell lines",
    () => {
      const tslabDir = path.dirname(require.resolve("tslab/package.json", { paths: [root] }));
      const ts = require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] });
      mapCellLines(ts, () => cellCount());
    },
    undefined,
  );
  tryTo("cleaning up after stopped cells", cleanAfterStoppedCells, undefined);
  const counters = tryTo("counting interrupts in shared memory", countInterrupts, null);
  cellCount = tryTo(
    "tracking executions",
    () => trackExecutions(fromProject("tslab/dist/jupyter.js") as TslabServerClasses, counters),
    () => 0,
  );
  (fromProject("tslab/dist/main.js") as { main(): void }).main();
}
