/**
 * The kernel launcher's interrupt counters (lib/kernel/interrupts.ts) as a test installs
 * them: SIGINTs, SIGINTs when the running cells were sent, the running cell's count.
 */
export interface FakeKernel {
  counters: Int32Array;
  /** Interrupt (kernel), pressed once. */
  press(): void;
  /** Cells sent from now on start clean. */
  sendCells(): void;
  /** Removes the counters: the library is outside a kernel again. */
  uninstall(): void;
}

const KEY = Symbol.for("dlc7.kernel.interrupts");

export function installFakeKernel(cellCount: number): FakeKernel {
  const counters = new Int32Array(new SharedArrayBuffer(12));
  counters[2] = cellCount;
  const store = globalThis as { [key: symbol]: unknown };
  store[KEY] = counters;
  return {
    counters,
    press: () => void Atomics.add(counters, 0, 1),
    sendCells: () => void Atomics.store(counters, 1, Atomics.load(counters, 0)),
    uninstall: () => void delete store[KEY],
  };
}
