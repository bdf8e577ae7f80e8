/** Backend selection: one report line, idempotent, forced choices checked, no silent fallback. */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { backendReport, initBackend, type BackendName } from "../lib/backend";

describe("initBackend", () => {
  it("selects the best available backend and says why the better ones were skipped", async () => {
    const report = await initBackend({ quiet: true });
    assert.equal(tf.getBackend(), report.name);
    assert.ok(report.line.startsWith(`tfjs backend: ${report.name} (`), report.line);
    const order: BackendName[] = ["tensorflow", "webgpu", "wasm", "cpu"];
    // Every backend ranked above the chosen one is reported as skipped, with a reason.
    const better = order.slice(0, order.indexOf(report.name));
    assert.deepEqual(
      report.skipped.map((s) => s.name),
      better,
    );
    for (const s of report.skipped) {
      assert.ok(s.reason.length > 10, `${s.name}: empty reason`);
      assert.ok(report.line.includes(s.reason), `line lacks the reason for ${s.name}`);
    }
    if (report.name === "wasm") {
      assert.match(report.line, /Conv2DBackpropFilter/);
      assert.ok(tf.getKernel("Conv2DBackpropFilter", "wasm") !== undefined);
    }
  });

  it("is idempotent and refuses to switch to another backend", async () => {
    const first = await initBackend({ quiet: true });
    assert.equal(await initBackend({ quiet: true }), first);
    assert.equal(backendReport(), first);
    const other: BackendName = first.name === "cpu" ? "wasm" : "cpu";
    await assert.rejects(initBackend({ force: other, quiet: true }), /already initialised/);
    assert.equal(tf.getBackend(), first.name);
  });

  it("rejects an unknown DLC_BACKEND with the list of names", async () => {
    const saved = process.env.DLC_BACKEND;
    process.env.DLC_BACKEND = "gpu";
    try {
      await assert.rejects(
        initBackend({ quiet: true }),
        /DLC_BACKEND=gpu: not a backend; use one of/,
      );
    } finally {
      if (saved === undefined) delete process.env.DLC_BACKEND;
      else process.env.DLC_BACKEND = saved;
    }
  });

  it("a forced backend that is not available is an error, not a fallback", function () {
    this.timeout(30000);
    const installed = ["@tensorflow/tfjs-node", "@tensorflow/tfjs-node-gpu"].some((m) => {
      try {
        require.resolve(m);
        return true;
      } catch {
        return false;
      }
    });
    if (installed) this.skip();
    // A fresh process: this one has already chosen its backend.
    const lib = path.join(__dirname, "..", "lib", "backend");
    const script =
      `require(${JSON.stringify(lib)}).initBackend({ quiet: true })` +
      `.then(r => { console.log("chose " + r.name); process.exit(0); })` +
      `.catch(e => { console.log(e.message); process.exit(3); })`;
    const out = spawnSync(process.execPath, ["--import", "tsx", "-e", script], {
      encoding: "utf8",
      env: { ...process.env, DLC_BACKEND: "tensorflow" },
    });
    assert.equal(out.status, 3, out.stdout + out.stderr);
    assert.match(out.stdout, /backend "tensorflow" was asked for .* but is not available: /);
    assert.match(out.stdout, /@tensorflow\/tfjs-node not installed/);
  });
});
