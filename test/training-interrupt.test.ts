import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { Linear, ReLU, Sequential } from "../lib/nn";
import { Rng } from "../lib/random";
import { Interrupted, watchInterrupts } from "../lib/training/interrupt";
import { halfSumSquaredError, type LossFn } from "../lib/training/losses";
import { train } from "../lib/training/train";

const root = path.resolve(__dirname, "..");

function mlp(): Sequential {
  const rng = Rng.stream("test/interrupt/mlp", 0);
  return new Sequential(new Linear(2, 32, { rng }), new ReLU(), new Linear(32, 2, { rng }));
}

/** Busy-waits `ms` milliseconds: a step as slow as a real one. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe("training: interrupts (SIGINT)", function () {
  this.timeout(60000);
  let points: tf.Tensor2D;

  before(async () => {
    await initBackend({ quiet: true });
    points = tf.randomNormal([400, 2], 0, 1, "float32", 1) as tf.Tensor2D;
  });
  after(() => points.dispose());

  it("stop training before the next step once seen, free every tensor, and say where", async () => {
    const model = mlp();
    const listeners = process.listenerCount("SIGINT");
    const before = tf.memory().numTensors;
    const stepMs = 30;
    let calls = 0;
    let callsAtSignal = -1;
    const loss: LossFn<Sequential> = (m, x, t) => {
      calls++;
      if (calls === 5) {
        callsAtSignal = calls;
        process.kill(process.pid, "SIGINT");
      }
      spin(stepMs);
      return { loss: halfSumSquaredError(m.forward(x), t) };
    };
    await assert.rejects(
      train({ model, loss, train: { inputs: points }, epochs: 20, batchSize: 10, progress: false }),
      (e: unknown) => {
        assert.ok(e instanceof Interrupted, `expected Interrupted, got ${String(e)}`);
        const m = /^interrupted at epoch 1, step (\d+); nothing saved$/.exec(e.message);
        assert.ok(m, e.message);
        // Every step that ran is counted, and the loop stopped at the first yield after the
        // signal: the yield comes every 200 ms, so within 200 ms / 30 ms + 1 steps.
        assert.equal(Number(m[1]), calls);
        assert.ok(calls > callsAtSignal, `stopped at step ${calls}`);
        assert.ok(calls <= callsAtSignal + Math.ceil(200 / stepMs) + 1, `stopped at step ${calls}`);
        return true;
      },
    );
    assert.equal(tf.memory().numTensors, before, "tensors left by the interrupted training");
    assert.equal(process.listenerCount("SIGINT"), listeners, "SIGINT listeners restored");
    model.dispose();
  });

  it("print as one line, the message alone when no progress display showed it", () => {
    const { inspect } = require("node:util") as typeof import("node:util");
    const quiet = new Interrupted("interrupted at epoch 2, step 7; nothing saved");
    assert.equal(inspect(quiet), "Interrupted: interrupted at epoch 2, step 7; nothing saved");
    assert.equal(inspect(new Interrupted("x", true)), "Interrupted");
  });

  it("are seen by every active watch, and only while watching", () => {
    const a = watchInterrupts();
    const b = watchInterrupts();
    try {
      process.emit("SIGINT", "SIGINT");
      assert.equal(a.requested, true);
      assert.equal(b.requested, true);
    } finally {
      a.release();
      b.release();
    }
    const c = watchInterrupts();
    assert.equal(c.requested, false, "a new watch starts clean outside a kernel");
    c.release();
  });

  it("leave Ctrl-C to end a script once training is over", function () {
    this.timeout(120000);
    // A child process: a SIGINT that reached no listener kills it, as Node does by default.
    const script = `
      const tf = require("@tensorflow/tfjs");
      const { train } = require("./lib/training/train");
      const { Linear } = require("./lib/nn");
      const { halfSumSquaredError } = require("./lib/training/losses");
      (async () => {
        await require("./lib/backend").initBackend({ quiet: true });
        const model = new Linear(2, 2);
        const x = tf.ones([20, 2]);
        await train({ model, loss: (m, a, t) => ({ loss: halfSumSquaredError(m.forward(a), t) }),
          train: { inputs: x }, progress: false });
        console.log("trained");
        process.kill(process.pid, "SIGINT");
        setTimeout(() => console.log("still alive"), 2000);
      })();`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "-e", script], {
      cwd: root,
      encoding: "utf8",
      timeout: 100000,
    });
    assert.match(r.stdout, /trained/, r.stderr);
    assert.doesNotMatch(r.stdout, /still alive/);
    assert.equal(r.signal, "SIGINT", `exit ${r.status}, stderr: ${r.stderr}`);
  });
});
