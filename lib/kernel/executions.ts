/**
 * The cells the kernel runs: each starts once the previous one was answered, and a busy
 * indicator stays busy while any runs.
 *
 * tslab started a cell as soon as the previous one's code ended, a few steps before it sent
 * that cell's reply: a cell running synchronously (most analysis cells) ran before Jupyter
 * heard that the previous one had ended, so the page marked the wrong cell as running. Here
 * a cell starts after the previous reply and its idle went out.
 *
 * tslab publishes "busy" as each execute request arrives and "idle" as each ends. Run All
 * sends every cell at once, so Jupyter saw busy ×N, then idle after the first cell, and
 * showed the kernel idle while the other cells ran. Here a request arriving while another
 * runs or waits publishes nothing (the kernel is busy already), and after every idle, while
 * requests are left, "busy" is published again for the one running now. Every request still
 * gets its busy (at the latest just before its idle) and its idle.
 */

/** A message from Jupyter, as tslab's server passes it. */
interface Message {
  header: { msg_type: string };
  content: object;
}

interface ZmqServer {
  handleExecute(sock: unknown, msg: Message): Promise<unknown>;
  publishStatus(status: string, parent: Message): unknown;
}

interface JupyterHandler {
  execCount?: number;
  handleExecuteImpl(req: object, ...rest: unknown[]): Promise<unknown>;
}

/** The classes of tslab's jupyter module (dist/jupyter.js) changed here. */
export interface TslabServerClasses {
  ZmqServer: { prototype: ZmqServer };
  JupyterHandlerImpl: { prototype: JupyterHandler };
}

/**
 * Wraps tslab's server and execute handler. `counters` (interrupts.ts's, or null): [1] takes
 * [0] when requests arrive at an idle kernel, [2] the execution count of each cell as it
 * starts. Returns `cellCount()`, the count of the cell starting or running now.
 */
export function trackExecutions(
  jupyter: TslabServerClasses,
  counters: Int32Array | null,
): () => number {
  const server = jupyter.ZmqServer.prototype;
  const handler = jupyter.JupyterHandlerImpl.prototype;
  /** Execute requests received and not answered, in order (tslab runs them in order). */
  const pending: Message[] = [];
  /** Requests whose busy was published. */
  const announced = new WeakSet<Message>();
  /** A request's content -> when the request before it was answered. */
  const previousAnswered = new WeakMap<object, Promise<void>>();
  let lastAnswered: Promise<void> = Promise.resolve();
  let count = 0;

  const handleExecute = server.handleExecute;
  server.handleExecute = function (sock, msg) {
    // Interrupts count for what was sent together: a cell, or the rest of a Run All.
    if (pending.length === 0 && counters !== null) {
      Atomics.store(counters, 1, Atomics.load(counters, 0));
    }
    pending.push(msg);
    const answered = (async () => {
      try {
        return await handleExecute.call(this, sock, msg);
      } finally {
        pending.splice(pending.indexOf(msg), 1);
      }
    })();
    previousAnswered.set(msg.content, lastAnswered);
    lastAnswered = answered.then(
      () => undefined,
      () => undefined,
    );
    return answered;
  };

  const publishStatus = server.publishStatus;
  server.publishStatus = function (status, parent) {
    const execute = parent.header.msg_type === "execute_request";
    if (status === "busy") {
      // Published before handleExecute sees the request: others pending means busy already.
      if (execute && pending.length > 0) return;
      announced.add(parent);
      return publishStatus.call(this, status, parent);
    }
    if (execute && !announced.has(parent)) publishStatus.call(this, "busy", parent);
    publishStatus.call(this, status, parent);
    const running = pending[0];
    if (status === "idle" && running !== undefined) {
      announced.add(running);
      publishStatus.call(this, "busy", running);
    }
  };

  const handleExecuteImpl = handler.handleExecuteImpl;
  handler.handleExecuteImpl = async function (req, ...rest) {
    // After the previous cell's reply and idle (published on the turns after it was answered).
    await previousAnswered.get(req);
    await new Promise((r) => setImmediate(r));
    count = (this.execCount ?? 0) + 1; // tslab counts the cell on entry
    if (counters !== null) Atomics.store(counters, 2, count);
    return handleExecuteImpl.call(this, req, ...rest);
  };

  return () => count;
}
