import { strict as assert } from "node:assert";
import { formatCount, formatDuration, formatNumber, plural } from "../lib/viz/format";
import { Progress } from "../lib/viz/progress";

/** A Progress in a given mode with a fake clock and captured output. */
function harness(mode: "log" | "terminal", logEverySeconds = 5) {
  let t = 0;
  const out: string[] = [];
  const progress = new Progress({
    total: 60000,
    label: "train",
    unit: "img",
    mode,
    logEverySeconds,
    write: (s) => out.push(s),
    now: () => t,
  });
  return { progress, out, advance: (ms: number) => (t += ms) };
}

describe("viz/progress", () => {
  it("log mode writes at most one line per interval plus the final line", () => {
    const { progress, out, advance } = harness("log", 5);
    // 600 steps of 100 ms = 60 s: at most 12 lines, then one at finish.
    for (let step = 1; step <= 600; step++) {
      advance(100);
      progress.update(step * 100, { loss: 1 / step });
    }
    progress.finish("done");
    assert.ok(out.length >= 12 && out.length <= 13, `got ${out.length} lines`);
    assert.ok(out.every((s) => s.endsWith("\n") && !s.slice(0, -1).includes("\n")));
    const last = out[out.length - 1]!;
    assert.match(last, /^train \[#{20}\]  100%  1000 img\/s  1m00s total  done\n$/);
  });

  it("log mode reports rate and time left", () => {
    const { progress, out, advance } = harness("log", 1);
    advance(2000);
    progress.update(15000);
    assert.equal(out.length, 1);
    assert.equal(out[0], "train [#####...............]  25%  7500 img/s  6.0 s left\n");
  });

  it("terminal mode rewrites one line and throttles to 10 per second", () => {
    const { progress, out, advance } = harness("terminal");
    for (let step = 1; step <= 1000; step++) {
      advance(10); // 10 s in all
      progress.update(step * 60);
    }
    progress.finish();
    assert.ok(out.length <= 102, `got ${out.length} writes`);
    assert.ok(out.slice(0, -1).every((s) => s.startsWith("\r") && !s.includes("\n")));
    assert.ok(out[out.length - 1]!.endsWith("\n"));
  });

  it("rejects bad input and update after finish", () => {
    assert.throws(() => new Progress({ total: 0, label: "x", mode: "silent" }), /total must be/);
    const p = new Progress({ total: 10, label: "x", mode: "silent" });
    assert.throws(() => p.update(Number.NaN), /done must be/);
    p.finish();
    p.finish(); // idempotent
    assert.throws(() => p.update(1), /after finish/);
  });

  it("formats numbers compactly", () => {
    assert.equal(formatNumber(0.031249), "0.03125");
    assert.equal(formatNumber(1234.56), "1235");
    assert.equal(formatCount(950), "950");
    assert.equal(formatCount(41234), "41.2k");
    assert.equal(formatCount(12.345), "12.3");
    assert.equal(formatDuration(4.21), "4.2 s");
    assert.equal(formatDuration(185), "3m05s");
    assert.equal(formatDuration(3720), "1h02m");
    assert.equal(plural(1, "epoch"), "1 epoch");
    assert.equal(plural(2, "epoch"), "2 epochs");
    assert.equal(plural(60000, "image"), "60,000 images");
  });

  /** Lines as a terminal shows them: without the carriage return and erase-line codes. */
  const shown = (out: string[]) =>
    out.map((s) => s.replace(/^\r/, "").replace(/\x1b\[K\n?$|\n$/, ""));

  it("fits a realistic training run on one line of at most 100 characters, loss once", () => {
    // 7.2 in full mode: 2 epochs of 60,000 images, batches of 100, about 240 images/s.
    let t = 0;
    const out: string[] = [];
    const p = new Progress({
      total: 120000,
      label: "AE d=32",
      unit: "img",
      epochs: 2,
      mode: "terminal",
      write: (s) => out.push(s),
      now: () => t,
    });
    for (let step = 1; step <= 1200; step++) {
      t += 420;
      p.update(step * 100, { epoch: step <= 600 ? 1 : 2, loss: 30 / (1 + step / 100) });
    }
    // What train() passes today: every train_ and test_ figure of the last epoch.
    p.finish("train_loss=13.88 train_mse=0.01771 test_loss=13.52 test_mse=0.01725");
    const lines = shown(out);
    for (const line of lines) {
      assert.ok(line.length <= 100, `${line.length} characters: ${line}`);
      assert.ok(!line.includes("\n"), "one line");
    }
    const mid = lines[Math.floor(lines.length / 2)]!;
    assert.match(
      mid,
      /^AE d=32 epoch [12]\/2 \[[#.]{20}\]  \d+%  238 img\/s  \S+ s?\s?left  loss [\d.]+$/,
    );
    assert.equal(mid.match(/loss/g)?.length, 1, "the loss once");
    assert.ok(lines[lines.length - 1]!.endsWith("…"), "a long summary is cut, not wrapped");
  });

  it("an interrupted training's summary fits whole, in place of the epoch, loss and rate", () => {
    const out: string[] = [];
    let t = 0;
    const p = new Progress({
      total: 60000 * 500,
      label: "ae-d32-fashion",
      unit: "img",
      epochs: 500,
      mode: "terminal",
      write: (s) => out.push(s),
      now: () => t,
    });
    t += 5700;
    p.update(23410, { epoch: 2, loss: 0.08831 });
    p.finish("interrupted at epoch 2, step 12341; nothing saved");
    const last = shown(out).pop() as string;
    assert.ok(last.length <= 100, `${last.length} characters: ${last}`);
    assert.match(
      last,
      /^ae-d32-fashion \[\.+\]  0%  5\.7 s total  interrupted at epoch 2, step 12341; nothing saved$/,
    );
  });

  it("shows the metrics once on the final line, and respects a narrower width", () => {
    let t = 0;
    const out: string[] = [];
    const p = new Progress({
      total: 1000,
      label: "a rather long label for a progress bar",
      unit: "img",
      mode: "log",
      width: 75,
      logEverySeconds: 1,
      write: (s) => out.push(s),
      now: () => t,
    });
    t += 2000;
    p.update(500, { epoch: 1, loss: 0.25, accuracy: 0.875, kl: 3.5 });
    p.finish();
    const lines = shown(out);
    assert.equal(lines.length, 2);
    for (const line of lines) assert.ok(line.length <= 75, `${line.length}: ${line}`);
    assert.match(lines[1]!, /250 img\/s  2\.0 s total  loss 0\.25$/, "later metrics dropped first");
    assert.match(
      lines[1]!,
      /^a rather long… epoch 1 \[#{5}\.{5}\]  50%/,
      "label cut before the loss",
    );
  });
});
