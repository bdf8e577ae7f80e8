/**
 * Interrupts of long loops. Jupyter's Interrupt button and Ctrl-C both send SIGINT.
 *
 * Synchronous loops (batches of a data set, eigen-decompositions) call `throwIfInterrupted`:
 * in the project's kernel a thread of the launcher counts SIGINTs in shared memory, which
 * such a loop reads while the event loop, and every signal handler, waits for it to end.
 *
 * tslab answers SIGINT by ending the running cell at once ("Interrupted asynchronously")
 * while the cell's code goes on in the background: a training would run to its end and
 * save its checkpoint. So while a loop watches (`watchInterrupts`), SIGINT is the loop's:
 * it sees `requested` between steps, stops, frees what it made and throws `Interrupted`,
 * which ends the cell itself. When no loop watches, tslab's own handler runs as before; in
 * a kernel we also remember which cell execution it interrupted, so that the rest of that
 * cell, still running in the background, cannot start a training (its watch starts as
 * requested). Outside a kernel nothing stays installed: once the loop ends, Ctrl-C ends a
 * script as usual.
 */
import * as path from "node:path";
import { inspect } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { currentExecution, inKernel, interruptPending, runningCellLabel } from "../viz/kernel";

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
 * True when SIGINT ended the running cell outside any watched loop (kernel only): the rest
 * of that cell, still running in the background, should start nothing long.
 */
export function cellInterrupted(): boolean {
  if (interruptPending()) return true;
  const now = currentExecution();
  return now !== null && now === interruptedExecution;
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

/** The part of tfjs's engine state that a stopped cell can leave behind. */
interface EngineState {
  scopeStack: unknown[];
  kernelDepth: number;
  gradientDepth: number;
  numDataMovesStack: number[];
  activeTape: { saved: tf.Tensor[] }[] | null;
}

/**
 * Puts tfjs's engine back as it is between cells after Node stopped a cell in the middle of
 * tfjs's work (Interrupt during synchronous code: vm's breakOnSigint ends it at once, and no
 * `finally` runs). The temporaries of its open tf.tidy scopes are freed, as tidy would have
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

// In the project's kernel (tools/kernel/stopped-cells.cjs runs these after a stopped cell).
(globalThis as { [key: symbol]: Set<() => unknown> | undefined })[
  Symbol.for("dlc7.kernel.afterStoppedCell")
]?.add(resetEngineAfterStop);
