/**
 * `npm run bench`: trains the lecture's autoencoder (7.2: d = 8, batch 100, Adam lr 1e-3,
 * loss 0.5 * sum((x - g(f(x)))^2) / N) for a fixed number of steps on every backend that
 * works here, each in its own process (clean peak memory), and the same model in PyTorch
 * on one thread when `python3 -c 'import torch'` works. Prints ms per step, images per
 * second, peak resident memory and the ratio to PyTorch; writes build/bench/results.json.
 *
 * Env: DLC_BENCH_STEPS (default 10, after 2 warm-up steps), DLC_BENCH_CPU=1 to time one
 * step of the pure-JS cpu backend (about 400 s). wasm runs on 1 thread, then on as many
 * threads as cores (DLC_WASM_THREADS, see lib/backend/wasm-threads.ts).
 * Wall times on a shared machine are noisy: CPU time per step is printed alongside.
 */
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { writeFileAtomic } from "../lib/atomic-write";
import { initBackend, type BackendName } from "../lib/backend";
import { AutoEncoder } from "../lib/models";
import { Rng } from "../lib/random";
import { settings } from "../lib/settings";

const BATCH = 100;
const WARMUP = 2;

export interface BenchResult {
  backend: string;
  detail: string;
  threads: number;
  steps: number;
  msPerStep: number;
  cpuMsPerStep: number;
  imagesPerSecond: number;
  peakRssMiB: number;
  firstLoss?: number;
  lastLoss?: number;
  tensorsLeaked?: number;
}

interface Skipped {
  backend: string;
  reason: string;
}

function positiveIntEnv(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}=${v}: use a positive integer`);
  return n;
}

/** Child process: time the training steps on one backend and print one RESULT line. */
async function child(name: BackendName, steps: number): Promise<void> {
  const report = await initBackend({ force: name, quiet: true });
  const threadsMatch = /(\d+) threads?/.exec(report.line);
  const threads = threadsMatch ? Number(threadsMatch[1]) : 1;
  const rng = Rng.stream("bench/data");
  const data = new Float32Array(BATCH * 28 * 28);
  for (let i = 0; i < data.length; i++) data[i] = rng.next();
  const x = tf.tensor4d(data, [BATCH, 1, 28, 28]);
  const model = new AutoEncoder({ nbChannels: 32, embeddingDim: 8 });
  const params = model.parameters();
  const optimizer = tf.train.adam(1e-3);
  const step = (): number => {
    const cost = optimizer.minimize(
      () => tf.mul(tf.sum(tf.square(tf.sub(x, model.forward(x)))), 0.5 / BATCH) as tf.Scalar,
      true,
      params,
    );
    if (cost === null) throw new Error("bench: optimizer returned no cost");
    const v = cost.dataSync()[0] as number;
    cost.dispose();
    return v;
  };
  const warmup = name === "cpu" ? 0 : WARMUP;
  for (let i = 0; i < warmup; i++) step();
  const tensors = tf.memory().numTensors;
  const losses: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) losses.push(step());
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6 / steps;
  const cpu = process.cpuUsage(cpu0);
  const result: BenchResult = {
    backend: `tfjs ${name}${threads > 1 ? ` (${threads} threads)` : ""}`,
    detail: report.line.replace(/^tfjs backend: /, "").replace(/; skipped.*$/, ""),
    threads,
    steps,
    msPerStep: wallMs,
    cpuMsPerStep: (cpu.user + cpu.system) / 1000 / steps,
    imagesPerSecond: (BATCH * 1000) / wallMs,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    firstLoss: losses[0],
    lastLoss: losses[losses.length - 1],
    tensorsLeaked: tf.memory().numTensors - tensors,
  };
  console.log(`RESULT ${JSON.stringify(result)}`);
  model.dispose();
  optimizer.dispose();
  x.dispose();
}

function runChild(name: BackendName, steps: number, threads?: number): BenchResult | Skipped {
  const env: NodeJS.ProcessEnv = { ...process.env, DLC_BACKEND: "" };
  if (threads !== undefined) env.DLC_WASM_THREADS = String(threads);
  const out = spawnSync(
    process.execPath,
    [...process.execArgv, __filename, "--child", name, String(steps)],
    { encoding: "utf8", env, maxBuffer: 1 << 24 },
  );
  const line = out.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (out.status !== 0 || line === undefined) {
    const why = (out.stderr || out.stdout).trim().split("\n").slice(-3).join(" | ");
    return { backend: `tfjs ${name}`, reason: `failed (exit ${out.status}): ${why}` };
  }
  return JSON.parse(line.slice("RESULT ".length)) as BenchResult;
}

function runTorch(steps: number): BenchResult | Skipped {
  const python = "/usr/bin/python3";
  const probe = spawnSync(python, ["-c", "import torch"], { encoding: "utf8" });
  if (probe.status !== 0) {
    return {
      backend: "pytorch",
      reason: "python3 cannot import torch (apt-get install -y python3-torch libopenblas0-pthread)",
    };
  }
  const script = path.join(__dirname, "torch_reference.py");
  const out = spawnSync(python, [script, "--steps", String(steps), "--warmup", String(WARMUP)], {
    encoding: "utf8",
    env: { ...process.env, OMP_NUM_THREADS: "1" },
  });
  const line = out.stdout.trim().split("\n").pop() ?? "";
  if (out.status !== 0 || !line.startsWith("{")) {
    return { backend: "pytorch", reason: `failed: ${out.stderr.trim().split("\n").pop()}` };
  }
  const r = JSON.parse(line) as BenchResult;
  return { ...r, detail: `${r.threads} thread${r.threads === 1 ? "" : "s"}` };
}

function isResult(r: BenchResult | Skipped): r is BenchResult {
  return (r as BenchResult).msPerStep !== undefined;
}

function table(results: BenchResult[], torch: BenchResult | undefined): string {
  const head = ["backend", "ms/step", "cpu ms/step", "images/s", "peak RSS MiB", "vs PyTorch"];
  const rows = results.map((r) => [
    r.backend,
    r.msPerStep.toFixed(0),
    r.cpuMsPerStep.toFixed(0),
    r.imagesPerSecond.toFixed(0),
    r.peakRssMiB.toFixed(0),
    torch ? `${(r.msPerStep / torch.msPerStep).toFixed(2)}x` : "-",
  ]);
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((row) => (row[i] as string).length)));
  return all.map((row) => row.map((c, i) => c.padStart(widths[i] as number)).join("  ")).join("\n");
}

async function main(): Promise<void> {
  const steps = positiveIntEnv("DLC_BENCH_STEPS", 10);
  const machine = `${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}, node ${process.version}`;
  console.log(`bench: lecture 7.2 autoencoder, d = 8, batch ${BATCH}, Adam 1e-3, ${steps} steps`);
  console.log(`machine: ${machine}`);
  const results: BenchResult[] = [];
  const skipped: Skipped[] = [];
  const add = (r: BenchResult | Skipped): void => {
    if (isResult(r)) results.push(r);
    else skipped.push(r);
  };

  const report = await initBackend({ quiet: true });
  for (const s of report.skipped) skipped.push({ backend: `tfjs ${s.name}`, reason: s.reason });
  if (report.name !== "wasm" && report.name !== "cpu") add(runChild(report.name, steps));
  add(runChild("wasm", steps, 1));
  const cores = os.cpus().length;
  if (cores > 1) add(runChild("wasm", steps, Math.min(cores, 8)));
  if (process.env.DLC_BENCH_CPU === "1") add(runChild("cpu", 1));
  else {
    skipped.push({
      backend: "tfjs cpu",
      reason: "about 400 s per step; DLC_BENCH_CPU=1 times one step",
    });
  }
  const torch = runTorch(steps);
  add(torch);
  const torchResult = isResult(torch) ? torch : undefined;

  console.log("");
  console.log(table(results, torchResult));
  for (const s of skipped) console.log(`skipped ${s.backend}: ${s.reason}`);
  const wasm = results
    .filter((r) => r.backend.startsWith("tfjs wasm"))
    .sort((a, b) => a.msPerStep - b.msPerStep)[0];
  if (wasm && torchResult) {
    console.log(
      `${wasm.backend} / PyTorch (1 thread): ${(wasm.msPerStep / torchResult.msPerStep).toFixed(2)}x wall, ` +
        `${(wasm.cpuMsPerStep / torchResult.cpuMsPerStep).toFixed(2)}x CPU time`,
    );
  }

  const file = path.join(settings.buildDir, "bench", "results.json");
  const body = { date: new Date().toISOString(), machine, steps, batch: BATCH, results, skipped };
  writeFileAtomic(file, JSON.stringify(body, null, 2) + "\n");
  console.log(`wrote ${path.relative(settings.root, file)}`);
}

const argv = process.argv;
const at = argv.indexOf("--child");
if (at >= 0) {
  child(argv[at + 1] as BackendName, Number(argv[at + 2])).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
} else {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
