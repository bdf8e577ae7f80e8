import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { Linear, ReLU, Sequential } from "../lib/nn";
import { Rng } from "../lib/random";
import { symmetricEigen } from "../lib/linalg/symmetric-eigen";
import { PCA } from "../lib/models/pca";
import { cellInterrupted, watchInterrupts } from "../lib/kernel/interrupts";
import { Interrupted, calledFunction, resetEngineAfterStop } from "../lib/training/interrupt";
import { halfSumSquaredError, type LossFn } from "../lib/training/losses";
import { train } from "../lib/training/train";
import { installFakeKernel } from "./helpers/interrupts";

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
        // signal: the yield comes every 200 ms, so within 200 ms / 30 ms + 1 steps (on a
        // loaded machine the step that sent it can end past 200 ms: it stops right there).
        assert.equal(Number(m[1]), calls);
        assert.ok(calls >= callsAtSignal, `stopped at step ${calls}`);
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

  it("stop synchronous work in a kernel, naming the cell and the function it called", () => {
    const kernel = installFakeKernel(3);
    const images = tf.randomUniform([50, 1, 4, 4]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    try {
      assert.equal(cellInterrupted(), false);
      const identity = Float64Array.from({ length: 400 }, (_, i) => (i % 21 === 0 ? 1 : 0));
      symmetricEigen(identity, 20);
      kernel.press();
      assert.equal(cellInterrupted(), true);
      assert.throws(
        () => symmetricEigen(identity, 20),
        /^Interrupted: In \[3\] stopped in symmetricEigen, reducing row 1 of 19$/,
      );
      assert.throws(
        () => PCA.fit(images, 2),
        /^Interrupted: In \[3\] stopped in \w+\.fit, at batch 1 of 1$/,
      );
      assert.equal(tf.memory().numTensors, before, "tensors left by the stopped PCA");
      // A training sent with them does not start.
      const watch = watchInterrupts();
      assert.equal(watch.requested, true);
      watch.release();
    } finally {
      kernel.uninstall();
      images.dispose();
    }
  });

  it("put tfjs's engine back after a cell stopped in the middle of a tidy, a kernel or a tape", () => {
    // What vm's breakOnSigint leaves when it ends a cell at once: no finally ran.
    const engine = tf.engine();
    const state = engine.state as unknown as { kernelDepth: number };
    const v = tf.variable(tf.ones([2]));
    const before = tf.memory().numTensors;
    engine.startScope("notebook cell");
    tf.square(v);
    engine.startScope("inner");
    tf.add(v, 1);
    (engine as unknown as { startTape(): void }).startTape(); // as tf.grad starts
    tf.mul(v, 2);
    state.kernelDepth += 1;
    assert.ok(resetEngineAfterStop() >= 3, "the temporaries of the open scopes freed");
    assert.equal(tf.memory().numTensors, before);
    // Gradients work again (a kernel depth left at 1 turned the tape off for good).
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(v)) as tf.Scalar);
    assert.deepEqual(Array.from((grads[v.name] as tf.Tensor).dataSync()), [2, 2]);
    tf.dispose([value, grads[v.name] as tf.Tensor, v]);
    assert.equal(resetEngineAfterStop(), 0, "nothing to do between cells");
  });

  it("name the library function a cell called, from its stack", () => {
    const lib = "/p/build/lib";
    const stack = [
      "Error",
      "    at throwIfInterrupted (/p/build/lib/training/interrupt.js:120:9)",
      "    at checkInterrupt (/p/build/lib/data/batches.js:40:5)",
      "    at forEachBatch (/p/build/lib/data/batches.js:52:9)",
      "    at VAE.klPerDimension (/p/build/lib/models/vae.js:155:5)",
      "    at Proxy.activeUnits (/p/build/lib/metrics/latent-space.js:12:5)",
      "    at In [14]:5:3",
      "    at async server.handleExecute (/p/build/lib/kernel/executions.js:37:14)",
    ].join("\n");
    assert.equal(calledFunction(stack, lib), "activeUnits");
    assert.equal(calledFunction(stack.replace(/.*activeUnits.*\n/, ""), lib), "VAE.klPerDimension");
    assert.equal(
      calledFunction("Error\n    at /p/build/lib/x/helpers.js:1:2\n    at In [2]:1:1", lib),
      "helpers",
    );
    assert.equal(calledFunction("Error\n    at In [2]:1:1", lib), null);
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
