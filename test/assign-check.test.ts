/**
 * lib/assignments: the line `check` prints for passing, failing, unimplemented and crashing
 * answers (expected and actual values, shapes first, no stack trace), its record in
 * headless runs, and that it frees the tensors of its body.
 */
import { strict as assert } from "node:assert";

import * as tf from "@tensorflow/tfjs";

import { initBackend } from "../lib/backend";
import {
  RECORD_PREFIX,
  check,
  expectClose,
  expectEqual,
  expectShape,
  expectTrue,
} from "../lib/assignments";
import { describeValue } from "../lib/assignments/describe";
import { nameFromSource } from "../lib/assignments/check";

before(async () => {
  await initBackend({ quiet: true });
});

/** What `fn` prints through console.log, one string per call. */
async function printed(fn: () => void | Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  try {
    await fn();
  } finally {
    console.log = original;
  }
  return lines;
}

function withRecords<T>(fn: () => T): T {
  const before = process.env.DLC_CHECK_RECORDS;
  process.env.DLC_CHECK_RECORDS = "1";
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.DLC_CHECK_RECORDS;
    else process.env.DLC_CHECK_RECORDS = before;
  }
}

describe("assignments: check()", () => {
  it("prints one ✓ line for a passing test, and no record outside headless runs", async () => {
    const out = await printed(() => check("q1", "sum", () => expectEqual(1 + 1, 2)));
    assert.deepEqual(out, ["✓ q1 · sum"]);
  });

  it("prints expected and actual values of a wrong answer, never a stack trace", async () => {
    const out = await printed(() =>
      check("q2", "lecture example", () => expectClose(tf.tensor1d([1, 2, 4]), [1, 2, 3])),
    );
    assert.equal(out.length, 1);
    const text = out[0] as string;
    assert.match(
      text,
      /^✗ q2 · lecture example: values: expected \[1, 2, 3\], got tensor \[3\] float32 \[1, 2, 4\]/,
    );
    assert.match(text, /1 of 3 value\(s\) differ; worst at \[2\]: expected 3, got 4/);
    assert.doesNotMatch(text, /\bat .*\.(js|ts):\d+/);
  });

  it("compares shapes before values", async () => {
    const out = await printed(() =>
      check("q2", () => expectClose(tf.zeros([1, 1, 8]), tf.zeros([1, 1, 9]))),
    );
    assert.match(out[0] as string, /: shape: expected \[1, 1, 9\], got \[1, 1, 8\]$/);
  });

  it("summarises large tensors by their first values and statistics", async () => {
    const out = await printed(() =>
      check("q3", "big", () => expectClose(tf.range(0, 100).reshape([10, 10]), tf.zeros([10, 10]))),
    );
    const text = out[0] as string;
    assert.match(
      text,
      /\n {4}expected {2}tensor \[10, 10\] float32 \[0, 0, 0, 0, 0, 0, …\] \(100 values/,
    );
    assert.match(
      text,
      /\n {4}actual {4}tensor \[10, 10\] float32 \[0, 1, 2, 3, 4, 5, …\] .*max 99, mean 49\.5/,
    );
  });

  it("says 'not implemented yet' for a stub, and names the missing question for another", async () => {
    const stub = (): number => {
      throw new Error("not implemented: q1");
    };
    const out = await printed(() => {
      check("q1", "own stub", () => expectEqual(stub(), 3));
      check("q2", "uses q1", () => expectEqual(stub(), 3));
    });
    assert.equal(
      out[0],
      "✗ q1 · own stub: not implemented yet: write your code in place of the throw in q1",
    );
    assert.equal(out[1], "✗ q2 · uses q1: needs q1, which is not implemented yet");
  });

  it("reports other errors of the student's code by name and message", async () => {
    const out = await printed(() =>
      check("q1", "crash", () => {
        (undefined as unknown as number[]).map((x) => x);
      }),
    );
    assert.match(
      out[0] as string,
      /^✗ q1 · crash: your code threw TypeError: Cannot read properties of undefined/,
    );
  });

  it("prints a check's hint under a wrong answer, not under a stub or a crash", async () => {
    const hint = { hint: "divide the sum by N, the batch size" };
    const out = await printed(() => {
      check("q1", "mean over the batch", () => expectEqual(2, 1), hint);
      check(
        "q1",
        "stub",
        () => {
          throw new Error("not implemented: q1");
        },
        hint,
      );
      check(
        "q1",
        "crash",
        () => {
          throw new TypeError("x is undefined");
        },
        hint,
      );
      check("q1", "right", () => expectEqual(1, 1), hint);
    });
    assert.deepEqual(
      out.flatMap((l) => l.split("\n")),
      [
        "✗ q1 · mean over the batch: value: expected 1, got 2",
        "    hint: divide the sum by N, the batch size",
        "✗ q1 · stub: not implemented yet: write your code in place of the throw in q1",
        "✗ q1 · crash: your code threw TypeError: x is undefined",
        "✓ q1 · right",
      ],
    );
  });

  it("treats `throw null` as a failure", async () => {
    const out = await printed(() =>
      check("q1", "null", () => {
        throw null;
      }),
    );
    assert.match(out[0] as string, /^✗ q1 · null: your code threw object: null/);
  });

  it("names a test after its body when no name is given", async () => {
    // As tslab compiles a cell: imported functions are called as (0, module_1.name)(...).
    const compiled = new Function("return (0, assignments_1.expectShape)(f(x), [2]);");
    assert.equal(nameFromSource(compiled as () => unknown), "expectShape(f(x), [2])");
    const out = await printed(() => check("q1", () => expectEqual(3, 3)));
    assert.match(out[0] as string, /^✓ q1 · expectEqual\(3, ?3\)$/);
    assert.ok(nameFromSource(() => expectEqual("x".repeat(200), "")).length <= 72);
  });

  it("prints a machine-readable record under DLC_CHECK_RECORDS=1", async () => {
    const out = await printed(() =>
      withRecords(() => {
        check("q1", "good", () => expectEqual(2, 2));
        check("q1", "bad", () => expectTrue(false, "must hold"));
      }),
    );
    const records = out
      .flatMap((l) => l.split("\n"))
      .filter((l) => l.startsWith(RECORD_PREFIX))
      .map((l) => JSON.parse(l.slice(RECORD_PREFIX.length)) as unknown);
    assert.deepEqual(records, [
      { question: "q1", test: "good", passed: true, message: "passed" },
      { question: "q1", test: "bad", passed: false, message: "must hold" },
    ]);
  });

  it("awaits async bodies and reports their rejections", async () => {
    const out = await printed(async () => {
      await check("q4", "async ok", async () => {
        await Promise.resolve();
        expectEqual(1, 1);
      });
      await check("q4", "async bad", async () => {
        await Promise.resolve();
        expectEqual([1, 2], [1, 3]);
      });
    });
    assert.equal(out[0], "✓ q4 · async ok");
    assert.match(out[1] as string, /^✗ q4 · async bad: value: expected \[1, 3\], got \[1, 2\]$/);
  });

  it("frees the tensors its body creates, passing or failing", async () => {
    const before = tf.memory().numTensors;
    await printed(() => {
      check("q1", () => expectClose(tf.ones([3]).add(1), [2, 2, 2]));
      check("q1", () => expectClose(tf.ones([3]).add(2), [2, 2, 2]));
      check("q1", () => {
        tf.zeros([4]);
        throw new Error("boom");
      });
    });
    assert.equal(tf.memory().numTensors, before);
  });

  it("rejects a malformed question id (a teacher's mistake) with a clear error", () => {
    assert.throws(
      () => check("question 1", () => undefined),
      /question id "question 1" must look like q1/,
    );
  });
});

describe("assignments: expectations", () => {
  it("expectClose accepts values within atol + rtol·|expected| and matches NaN with NaN only", () => {
    expectClose([1.00001, 100.01], [1, 100], { atol: 1e-4, rtol: 1e-4 });
    expectClose([NaN], [NaN]);
    assert.throws(() => expectClose([1], [NaN]), /values/);
    assert.throws(() => expectClose([NaN], [1]), /values/);
    assert.throws(() => expectClose([100.1], [100], { atol: 0, rtol: 1e-4 }), /worst at \[0\]/);
  });

  it("expectClose says what came back when it is not a tensor", () => {
    assert.throws(
      () => expectClose(undefined, [1, 2]),
      /values: expected a tensor \[2\], got undefined \(did the function forget to return its result\?\)/,
    );
  });

  it("expectShape reads tensors and nested arrays", () => {
    expectShape(tf.zeros([2, 3]), [2, 3]);
    expectShape([[1, 2, 3]], [1, 3]);
    assert.throws(
      () => expectShape(tf.zeros([2, 3]), [3, 2]),
      /shape: expected \[3, 2\], got \[2, 3\]/,
    );
  });

  it("expectEqual compares exactly, shapes first", () => {
    expectEqual(tf.tensor1d([1, 2], "int32"), [1, 2]);
    assert.throws(() => expectEqual([1, 2, 3], [1, 2]), /shape: expected \[2\], got \[3\]/);
    assert.throws(() => expectEqual("a", "b"), /value: expected "b", got "a"/);
  });

  it("describeValue names disposed tensors and functions", () => {
    const t = tf.zeros([2]);
    t.dispose();
    assert.match(describeValue(t), /a disposed tensor \[2\]/);
    assert.match(describeValue(Math.max), /a function \(max\): call it/);
  });
});
