/** The benchmark's bookkeeping: batch lists, the cross-backend loss check, equal-core ratios. */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  lossMismatches,
  parseBatches,
  ratioLines,
  table,
  throughput,
  torchFor,
  type BenchResult,
} from "../bench/report";

function run(fields: Partial<BenchResult> & Pick<BenchResult, "backend">): BenchResult {
  return {
    model: "autoencoder",
    detail: "",
    threads: 1,
    device: "cpu",
    batch: 100,
    steps: 10,
    msPerStep: 100,
    cpuMsPerStep: 100,
    imagesPerSecond: 1000,
    peakRssMiB: 300,
    losses: [],
    ...fields,
  };
}

describe("bench report", () => {
  it("parses DLC_BENCH_WEBGPU_BATCHES strictly", () => {
    assert.deepEqual(parseBatches("B", undefined, [100, 1000]), [100, 1000]);
    assert.deepEqual(parseBatches("B", "", [100]), []);
    assert.deepEqual(parseBatches("B", " 100, 1000 ", []), [100, 1000]);
    for (const bad of ["100,", "0", "1e3x", "-5", "1.5"]) {
      assert.throws(() => parseBatches("B", bad, []), /B=.*comma-separated positive integers/);
    }
  });

  it("checks the first losses of our backends per batch, PyTorch aside", () => {
    const losses = [93.2576, 80.6448, 69.2322];
    const ok = [
      run({ backend: "tfjs wasm", losses }),
      run({ backend: "tfjs wasm", threads: 2, losses: losses.map((l) => l * (1 + 1e-6)) }),
      run({ backend: "tfjs webgpu", device: "gpu", losses: losses.map((l) => l * (1 - 5e-4)) }),
      // Other initial weights: never compared.
      run({ backend: "pytorch cpu", losses: [120, 110, 100] }),
      run({ backend: "tfjs wasm", batch: 1000, losses: [90, 80] }),
      run({ backend: "tfjs webgpu", batch: 1000, device: "gpu", losses: [90, 80.0001] }),
    ];
    assert.deepEqual(lossMismatches(ok), []);
    const bad = [...ok, run({ backend: "tfjs webgpu", batch: 1000, losses: [90, 81] })];
    const m = lossMismatches(bad);
    assert.equal(m.length, 1);
    assert.match(
      m[0]!,
      /^autoencoder, batch 1000, step 2: tfjs webgpu loss 81 vs tfjs wasm 80 \(relative/,
    );
    // Another model's losses are never compared with the autoencoder's.
    const other = [...ok, run({ model: "unet", backend: "tfjs native", losses: [1, 2, 3] })];
    assert.deepEqual(lossMismatches(other), []);
    const nan = [ok[0]!, run({ backend: "tfjs webgpu", losses: [NaN, 80.6448, 69.2322] })];
    assert.equal(lossMismatches(nan).length, 1, "a NaN loss is a mismatch");
  });

  it("compares with PyTorch at equal cores and batch, and GPU runs with PyTorch's GPU run", () => {
    const torch1 = run({ backend: "pytorch cpu", msPerStep: 50, cpuMsPerStep: 50 });
    const torch2 = run({ backend: "pytorch cpu", threads: 2, msPerStep: 30, cpuMsPerStep: 60 });
    const cuda = run({ backend: "pytorch cuda", device: "gpu", batch: 1000, msPerStep: 2 });
    const wasm1 = run({ backend: "tfjs wasm", msPerStep: 100, cpuMsPerStep: 100 });
    const wasm2 = run({ backend: "tfjs wasm", threads: 2, msPerStep: 60, cpuMsPerStep: 120 });
    const gpu = run({ backend: "tfjs webgpu", device: "gpu", batch: 1000, msPerStep: 5 });
    const all = [wasm1, wasm2, gpu, torch1, torch2, cuda];
    assert.equal(torchFor(wasm1, all), torch1);
    assert.equal(torchFor(wasm2, all), torch2);
    assert.equal(torchFor(gpu, all), cuda);
    assert.equal(torchFor(run({ backend: "tfjs wasm", threads: 4 }), all), undefined);
    const native1 = run({ backend: "tfjs native", msPerStep: 40, cpuMsPerStep: 40 });
    const unet1 = run({ model: "unet", backend: "tfjs native", msPerStep: 400 });
    assert.equal(torchFor(unet1, [...all, unet1]), undefined, "no PyTorch U-Net run");
    assert.deepEqual(ratioLines([...all, native1, unet1], 100), [
      "autoencoder: tfjs wasm / PyTorch at 1 thread, batch 100: 2.00x wall time, 2.00x CPU time per step",
      "autoencoder: tfjs wasm / PyTorch at 2 threads, batch 100: 2.00x wall time, 2.00x CPU time per step",
      "autoencoder: tfjs native / PyTorch at 1 thread, batch 100: 0.80x wall time, 0.80x CPU time per step",
    ]);
    const lines = table(all).split("\n");
    assert.equal(lines.length, 7);
    assert.match(
      lines[0]!,
      /^model +backend +threads +batch +ms\/step +cpu ms\/step +images\/s +GFLOP\/s +% of peak/,
    );
    assert.match(lines[3]!, /^autoencoder +tfjs webgpu +1 +1000 +5\.0 .* 2\.50x$/);
    assert.match(lines[4]!, / -$/, "PyTorch rows have no ratio");
  });

  it("gives each row its GFLOP/s and its share of its cores' peak", () => {
    const one = run({ backend: "tfjs native", msPerStep: 200, gflopPerStep: 14.6 });
    const two = run({ backend: "tfjs native", threads: 2, msPerStep: 125, gflopPerStep: 14.6 });
    const [g1, s1] = throughput(one, 115);
    assert.ok(Math.abs(g1 - 73) < 1e-9);
    assert.ok(Math.abs(s1! - 73 / 115) < 1e-12);
    const [g2, s2] = throughput(two, 115);
    assert.ok(Math.abs(g2 - 116.8) < 1e-9);
    assert.ok(Math.abs(s2! - 116.8 / 230) < 1e-12, "two threads: the peak of two cores");
    assert.equal(throughput(one, null)[1], null, "no peak measured: no share");
    assert.ok(Number.isNaN(throughput(run({ backend: "x" }), 115)[0]), "no FLOP count: NaN");
    const row = table([one], 115).split("\n")[1]!;
    assert.match(row, /  73\.0 +63% /);
  });

  it("the device script refuses bad arguments and an incomplete carry, with its usage", () => {
    const script = path.join(__dirname, "..", "bench", "gpu", "run-on-device.sh");
    const run = (...args: string[]) =>
      spawnSync("bash", [script, ...args], { encoding: "utf8", env: { ...process.env, OUT: "" } });
    const carry = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-carry-"));
    try {
      const cases: [string[], RegExp][] = [
        [[], /--out is required/],
        [["--out"], /--out needs a value/],
        [["--out", "/tmp/x", "--steps", "0"], /--steps 0: use a positive integer/],
        [["--out", "/tmp/x", "--epoch-limit", "10x"], /--epoch-limit 10x: use a positive/],
        [["--out", "/tmp/x", "--bogus"], /unknown argument '--bogus'/],
        [
          ["--out", "/tmp/x", "--carry", carry],
          /node\.xz is missing: run 'npx tsx bench\/gpu\/build-carry/,
        ],
      ];
      for (const [args, message] of cases) {
        const out = run(...args);
        assert.equal(out.status, 2, `${args.join(" ")}: ${out.stderr}`);
        assert.match(out.stderr, message);
        assert.match(out.stderr, /^usage: run-on-device\.sh --out DIR/m);
      }
      // A complete carry: --dry-run prints the plan and runs nothing.
      for (const f of ["node.xz", "dawn.node.xz", "app.tar.xz"])
        fs.writeFileSync(path.join(carry, f), "x");
      fs.mkdirSync(path.join(carry, "mnist"));
      fs.mkdirSync(path.join(carry, "debs"));
      for (const f of ["train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"]) {
        fs.writeFileSync(path.join(carry, "mnist", f), "x");
      }
      assert.match(run("--out", "/tmp/x", "--carry", carry).stderr, /has no libvulkan1 \.deb/);
      fs.writeFileSync(path.join(carry, "debs", "libvulkan1_1.3_amd64.deb"), "x");
      const dry = run("--out", "/tmp/x", "--carry", carry, "--dry-run", "--steps", "3");
      assert.equal(dry.status, 0, dry.stderr);
      assert.match(dry.stdout, /DLC_BENCH_STEPS=3 node app\/bench\.js/);
      assert.equal(run("--help").status, 0);
    } finally {
      fs.rmSync(carry, { recursive: true, force: true });
    }
  });
});
