#!/usr/bin/env node
/**
 * The project's TypeScript kernel: tslab, with its messages to Jupyter sent in order, none lost,
 * Interrupt counted where synchronous loops can see it (kernel/interrupts.cjs) and cleaned up
 * after when it stopped a cell mid-way (kernel/stopped-cells.cjs), stack frames
 * with the cells' own line numbers (kernel/cell-lines.cjs), and a busy indicator that stays
 * busy through Run All (kernel/executions.cjs).
 *
 * tslab calls zeromq's `socket.send()` without waiting for the previous send. zeromq 6 sends
 * at once 512 times in a row, then defers one send to let the event loop run, and throws
 * EBUSY ("Socket is busy writing") at any send made before that deferred one went out. So
 * every 513th message on a socket could lose the messages that followed it in the same tick
 * (a cell printing 800 lines showed 508), or kill the kernel when the throw happened in
 * tslab's status messages (a full run of 7.3 died after 18 minutes, exit code 7). Here a send
 * that meets a deferred one waits for it, and the sends after it keep their order; a send
 * that fails (a closed socket at shutdown) is reported on stderr instead of killing the kernel.
 *
 *   node tools/tslab-kernel.cjs kernel --config-path <connection file>   (kernel.json's argv)
 */
"use strict";
const path = require("node:path");
const { mapCellLines } = require("./kernel/cell-lines.cjs");
const { trackExecutions } = require("./kernel/executions.cjs");
const { countInterrupts } = require("./kernel/interrupts.cjs");
const { cleanAfterStoppedCells } = require("./kernel/stopped-cells.cjs");

const root = path.resolve(__dirname, "..");
const fromProject = (name) => require(require.resolve(name, { paths: [root] }));

/**
 * Makes `send` of every zeromq socket wait, in order, behind a send that zeromq deferred. A
 * message goes out at once when the socket takes it (zeromq sends synchronously, 512 times in
 * a row): waiting for every previous send's promise instead held each message until the event
 * loop ran, so a cell running synchronously showed no output, and the kernel's "busy", until
 * it ended.
 */
function serializeSends(zmq) {
  const proto = zmq.Socket.prototype;
  const send = proto.send;
  const queues = new WeakMap();
  const report = (e) => process.stderr.write(`kernel: a message to Jupyter was not sent: ${e}\n`);
  const pump = (socket, queue) => {
    while (queue.items.length > 0 && !queue.waiting) {
      const { message, done } = queue.items[0];
      let sent;
      try {
        sent = send.call(socket, message);
      } catch (e) {
        if (e && e.code === "EBUSY") {
          // A deferred send is on its way: retry after it, on a later turn of the event loop.
          queue.waiting = true;
          const retry = () => {
            queue.waiting = false;
            pump(socket, queue);
          };
          queue.last.then(() => setImmediate(retry));
          return;
        }
        sent = Promise.reject(e);
      }
      queue.items.shift();
      queue.last = Promise.resolve(sent).catch(report);
      queue.last.then(done);
    }
  };
  const serialized = function (message) {
    if (!queues.has(this)) {
      queues.set(this, { items: [], waiting: false, last: Promise.resolve() });
    }
    const queue = queues.get(this);
    return new Promise((done) => {
      queue.items.push({ message, done });
      pump(this, queue);
    });
  };
  // A read-only property of the native class, but configurable.
  Object.defineProperty(proto, "send", { value: serialized, writable: false, configurable: true });
}

/** Runs one of the changes below; one that fails is said on stderr, and tslab runs without it. */
function tryTo(what, change, fallback) {
  try {
    return change();
  } catch (e) {
    process.stderr.write(`kernel: ${what} is off (${e.stack})\n`);
    return fallback;
  }
}

serializeSends(fromProject("zeromq"));
// The TypeScript tslab compiles with, as tslab resolves it, wrapped before tslab loads it.
let cellCount = () => 0;
tryTo("mapping stack frames to cell lines", () => {
  const tslabDir = path.dirname(require.resolve("tslab/package.json", { paths: [root] }));
  const ts = require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] });
  mapCellLines(ts, () => cellCount());
});
tryTo("cleaning up after stopped cells", cleanAfterStoppedCells);
const counters = tryTo("counting interrupts in shared memory", countInterrupts, null);
cellCount = tryTo(
  "tracking executions",
  () => trackExecutions(fromProject("tslab/dist/jupyter.js"), counters),
  () => 0,
);
fromProject("tslab/dist/main.js").main();
