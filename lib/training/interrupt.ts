/**
 * Interrupts of long loops (Jupyter's Interrupt button and Ctrl-C both send SIGINT; how a
 * loop learns of one: lib/kernel/interrupts.ts). A loop that stops throws `Interrupted`,
 * saying where. Synchronous loops (batches of a data set, eigen-decompositions) call
 * `throwIfInterrupted` at every step; a cell that Interrupt stopped in the middle of tfjs's
 * work gets tfjs's engine back (`resetEngineAfterStop`).
 */
import * as path from "node:path";
import { inspect } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { interruptPending, runningCellLabel } from "../kernel/interrupts";
import { afterStoppedCell } from "../kernel/stopped-cells";

/** A loop stopped by SIGINT; the message says where ("interrupted at epoch 1, step 212; ..."). */
export class Interrupted extends Error {
  constructor(
    message: string,
    /** True when a progress display already showed the message (the cell prints one word). */
    readonly shown = false,
  ) {
    super(message);
    this.name = "Interrupted";
  }

  /** How a notebook (console.error) prints it: one line, no stack. */
  [inspect.custom](): string {
    return this.shown ? "Interrupted" : `Interrupted: ${this.message}`;
  }
}

/** lib/'s folder (lib/ under tsx, build/lib/ in a kernel). */
const LIB_DIR = path.dirname(__dirname);

/**
 * The library function the caller's code called, from a stack: the last of the frames in lib/
 * at its top ("VAE.klPerDimension"), or null when there is none.
 */
export function calledFunction(stack: string, libDir: string = LIB_DIR): string | null {
  let called: string | null = null;
  for (const line of stack.split("\n")) {
    const frame = /^\s+at (?:async )?(?:(.*?) \()?(.+?):\d+:\d+\)?$/.exec(line);
    if (frame === null) {
      if (/^\s+at /.test(line)) break; // "at async Promise.all (index 0)"
      continue; // the message
    }
    const file = frame[2] as string;
    if (!file.startsWith(libDir + path.sep)) break;
    const name = (frame[1] ?? "").replace(/^(Object|Proxy)\./, "").replace(/ \[as \w+\]$/, "");
    called = name !== "" ? name : path.basename(file).replace(/\.[jt]s$/, "");
  }
  return called;
}

/**
 * Throws Interrupted when Interrupt was pressed since the running cells were sent (kernel
 * only). Long synchronous loops call it at every step; `where` says where the loop is ("at
 * batch 7 of 20"). The message names the cell and the library function it called: "In [14]
 * stopped in VAE.klPerDimension, at batch 7 of 20".
 */
export function throwIfInterrupted(where: () => string): void {
  if (!interruptPending()) return;
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 50;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  const called = calledFunction(stack);
  const cell = runningCellLabel() ?? "the cell";
  throw new Interrupted(`${cell} stopped${called === null ? "" : ` in ${called}`}, ${where()}`);
}

/** The part of tfjs's engine state that a stopped cell can leave behind. */
interface EngineState {
  scopeStack: unknown[];
  kernelDepth: number;
  gradientDepth: number;
  numDataMovesStack: number[];
  activeTape: { saved: tf.Tensor[] }[] | null;
}

/**
 * Puts tfjs's engine back as it is between cells after Interrupt stopped a cell in the middle
 * of tfjs's work (in synchronous code the cell ends at once, and no `finally` runs). The temporaries of its open tf.tidy scopes are freed, as tidy would have
 * freed them; the kernel depth it left at 1 had turned gradients off for good (every later
 * training failed: "Cannot find a connection between any variable and the result of the
 * loss function"). Every open scope is the stopped cell's (the notebook context's cell scope and
 * those inside it), but for a cell still running in the background after an earlier Interrupt,
 * whose scope goes too: its code stops at its next loop step anyway. Returns the number of
 * tensors freed.
 */
export function resetEngineAfterStop(): number {
  const engine = tf.engine();
  const state = engine.state as unknown as EngineState;
  const before = tf.memory().numTensors;
  while (state.scopeStack.length > 0) engine.endScope();
  if (state.gradientDepth > 0 && state.activeTape !== null) {
    for (const node of state.activeTape) tf.dispose(node.saved);
    state.activeTape = null;
  }
  state.gradientDepth = 0;
  state.kernelDepth = 0;
  state.numDataMovesStack = [];
  return before - tf.memory().numTensors;
}

// In the project's kernel, after every cell that Interrupt stopped in synchronous code.
afterStoppedCell(resetEngineAfterStop);
