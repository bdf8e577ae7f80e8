/**
 * tslab's messages to Jupyter sent in order, none lost.
 *
 * tslab calls zeromq's `socket.send()` without waiting for the previous send. zeromq 6 sends
 * at once 512 times in a row, then defers one send to let the event loop run, and throws
 * EBUSY ("Socket is busy writing") at any send made before that deferred one went out. So
 * every 513th message on a socket could lose the messages that followed it in the same tick
 * (a cell printing 800 lines showed 508), or kill the kernel when the throw happened in
 * tslab's status messages (a full run of 7.3 died after 18 minutes, exit code 7). Here a send
 * that meets a deferred one waits for it, and the sends after it keep their order; a send
 * that fails (a closed socket at shutdown) is reported on stderr instead of killing the kernel.
 */

type Send = (this: object, message: unknown) => unknown;

/** The part of the zeromq module changed here. */
export interface ZeromqModule {
  Socket: { prototype: { send: Send } };
}

interface Queue {
  items: { message: unknown; done: () => void }[];
  /** True while a send waits for a deferred one. */
  waiting: boolean;
  /** The last send handed to zeromq. */
  last: Promise<unknown>;
}

/**
 * Makes `send` of every zeromq socket wait, in order, behind a send that zeromq deferred. A
 * message goes out at once when the socket takes it (zeromq sends synchronously, 512 times in
 * a row): waiting for every previous send's promise instead held each message until the event
 * loop ran, so a cell running synchronously showed no output, and the kernel's "busy", until
 * it ended.
 */
export function serializeSends(zmq: ZeromqModule): void {
  const proto = zmq.Socket.prototype;
  const send = proto.send;
  const queues = new WeakMap<object, Queue>();
  const report = (e: unknown): void => {
    process.stderr.write(`kernel: a message to Jupyter was not sent: ${String(e)}\n`);
  };
  const pump = (socket: object, queue: Queue): void => {
    while (queue.items.length > 0 && !queue.waiting) {
      const { message, done } = queue.items[0] as Queue["items"][number];
      let sent: unknown;
      try {
        sent = send.call(socket, message);
      } catch (e) {
        if ((e as { code?: unknown } | null)?.code === "EBUSY") {
          // A deferred send is on its way: retry after it, on a later turn of the event loop.
          queue.waiting = true;
          const retry = (): void => {
            queue.waiting = false;
            pump(socket, queue);
          };
          void queue.last.then(() => setImmediate(retry));
          return;
        }
        sent = Promise.reject(e);
      }
      queue.items.shift();
      queue.last = Promise.resolve(sent).catch(report);
      void queue.last.then(done);
    }
  };
  const serialized = function (this: object, message: unknown): Promise<void> {
    let queue = queues.get(this);
    if (queue === undefined) {
      queue = { items: [], waiting: false, last: Promise.resolve() };
      queues.set(this, queue);
    }
    const q = queue;
    return new Promise((done) => {
      q.items.push({ message, done });
      pump(this, q);
    });
  };
  // A read-only property of the native class, but configurable.
  Object.defineProperty(proto, "send", { value: serialized, writable: false, configurable: true });
}
