import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { Linear } from "../lib/nn";
import {
  declares,
  formatError,
  freedTensorMessage,
  freedVariables,
  interruptMessage,
  isDisposedTensorError,
} from "../lib/kernel/errors";

/** The error `fn` throws. */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error");
}

describe("kernel/errors: errors as a notebook shows them", () => {
  before(async () => {
    await initBackend({ quiet: true });
  });

  it("recognise both ways tfjs reports a freed tensor, and nothing else", () => {
    const x = tf.ones([2, 2]);
    x.dispose();
    assert.ok(isDisposedTensorError(thrown(() => x.dataSync())));
    assert.ok(isDisposedTensorError(thrown(() => tf.add(x, 1))));
    const model = new Linear(2, 2);
    model.dispose();
    assert.ok(isDisposedTensorError(thrown(() => model.forward(tf.ones([1, 2]) as tf.Tensor2D))));
    assert.ok(!isDisposedTensorError(new Error("Tensor is fine")));
    assert.ok(!isDisposedTensorError(thrown(() => (undefined as unknown as { id: 1 }).id)));
  });

  it("find the variables holding freed tensors: tensors, models, containers of them", () => {
    const live = tf.ones([1]);
    const freed = tf.ones([1]);
    freed.dispose();
    const model = new Linear(2, 2);
    model.dispose();
    const liveModel = new Linear(2, 2);
    const vars = {
      freed,
      live,
      model,
      liveModel,
      models: new Map([[8, model]]),
      trained: { model, log: null },
      list: [live, freed],
      n: 3,
      text: "x",
      nothing: null,
      tsLastExpr: freed,
    };
    assert.deepEqual(freedVariables(vars), ["freed", "model", "models", "trained", "list"]);
    tf.dispose([live]);
    liveModel.dispose();
  });

  it("tell declarations from uses", () => {
    assert.ok(declares("const enc = ae.model.encoder;", "enc"));
    assert.ok(declares("x = 1;\nlet enc = 2", "enc"));
    assert.ok(declares("const [xa, xb] = tf.tidy(() => f());", "xb"));
    assert.ok(declares("const { model, log } = trained;", "log"));
    assert.ok(declares("function enc() {}", "enc"));
    assert.ok(!declares("enc = 3;", "enc"));
    assert.ok(!declares("const encoder = 3;", "enc"));
    assert.ok(!declares("console.log(enc);", "enc"));
  });

  it("name the freed variables the cell uses and the cells that define them", () => {
    const cells = [
      { count: 3, source: "// the data\nconst X = testSet.images.slice(0, 36);" },
      { count: 7, source: "const enc = autoencoders.get(8)!.encoder;" },
      { count: 9, source: "enc.forward(X);" },
    ];
    assert.equal(
      freedTensorMessage("Tensor is disposed.", ["enc", "other"], cells),
      "`enc` (In [7]: `const enc = autoencoders.get(8)!.encoder;`) holds a tensor or model " +
        "that was freed (disposed): re-run the cell that defines `enc`, then this one. " +
        "(tfjs: Tensor is disposed.)",
    );
    // The cell names none of them: every freed variable, with its cell when known.
    assert.match(
      freedTensorMessage("Tensor is disposed.", ["X", "other"], [...cells.slice(0, 2), cells[1]!]),
      /^`X` \(In \[3\]: `const X = testSet\.images\.slice\(0, 36\);`\) and `other` hold .*re-run the cells that define them/,
    );
    assert.match(
      freedTensorMessage("Tensor is disposed.", [], cells),
      /^this cell used a tensor or model that was freed \(disposed\) before/,
    );
  });

  it("put the message first, the frames of lib and the cell next, and count the rest", () => {
    const e = new Error("Conv2d: input has 3 channels but the weight expects 1");
    e.stack = [
      "/p/node_modules/@tensorflow/tfjs-core/dist/tf-core.node.js:4578",
      "            throw ex;",
      "            ^",
      "",
      "Error: Conv2d: input has 3 channels but the weight expects 1",
      "    at checkWeight (/p/build/lib/nn/convolution.js:99:15)",
      "    at /p/node_modules/@tensorflow/tfjs-core/dist/tf-core.node.js:4562:22",
      "    at Engine.tidy (/p/node_modules/@tensorflow/tfjs-core/dist/tf-core.node.js:4561:21)",
      "    at evalmachine.<anonymous>:3:32",
      "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
    ].join("\n");
    assert.equal(
      formatError(e, "/p"),
      [
        "Error: Conv2d: input has 3 channels but the weight expects 1",
        "    at checkWeight (build/lib/nn/convolution.js:99:15)",
        "    at evalmachine.<anonymous>:3:32",
        "    (3 more frames inside tfjs, tslab or Node)",
      ].join("\n"),
    );
  });

  it("show the cell's frames and fold the kernel's below them (tslab, its launcher)", () => {
    const e = new Error("boom");
    e.stack = [
      "Error: boom",
      "    at f (In [1]:4:20)",
      "    at g (/p/build/lib/x.js:3:5)",
      "    at In [2]:5:1",
      "    at vm.runInThisContext (/p/build/lib/kernel/cell-lines.js:175:16)",
      "    at handler.handleExecuteImpl (/p/build/lib/kernel/executions.js:65:30)",
      "    at proto.handleExecuteImpl (/p/build/lib/kernel/cells.js:124:33)",
      "    at /p/node_modules/tslab/dist/executor.js:10:1",
    ].join("\n");
    assert.equal(
      formatError(e, "/p"),
      [
        "Error: boom",
        "    at f (In [1]:4:20)",
        "    at g (build/lib/x.js:3:5)",
        "    at In [2]:5:1",
        "    (4 more frames inside tfjs, tslab or Node)",
      ].join("\n"),
    );
  });

  it("say in one line that Interrupt stopped a cell, however the kernel reported it", () => {
    // tslab ends a cell that awaits; Node's vm stops one running synchronously.
    const waiting = new Error("Interrupted asynchronously");
    const running = Object.assign(new Error("Script execution was interrupted by `SIGINT`"), {
      code: "ERR_SCRIPT_EXECUTION_INTERRUPTED",
    });
    assert.equal(interruptMessage(waiting, "In [4]"), "Interrupted: In [4] stopped while waiting");
    assert.equal(interruptMessage(running, "In [4]"), "Interrupted: In [4] stopped");
    assert.equal(interruptMessage(new Error("boom"), "In [4]"), null);
    assert.equal(formatError(waiting), "Interrupted: the cell stopped while waiting");
  });
});
