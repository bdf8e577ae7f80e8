import { strict as assert } from "node:assert";
import { Progress, formatCount, formatDuration, formatNumber } from "../lib/viz/progress";

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
    const last = out[out.length - 1];
    assert.match(last, /train 100% 60000\/60000 img/);
    assert.match(last, /1000 img\/s/);
    assert.match(last, /1m00s total/);
    assert.match(last, /loss=0\.001667/);
    assert.match(last, /done\n$/);
  });

  it("log mode reports rate and time left", () => {
    const { progress, out, advance } = harness("log", 1);
    advance(2000);
    progress.update(15000);
    assert.equal(out.length, 1);
    assert.match(out[0], /\[######\.{18}\] train  25% 15000\/60000 img  7500 img\/s  6\.0 s left/);
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
    assert.ok(out[out.length - 1].endsWith("\n"));
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
  });
});
