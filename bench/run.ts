/**
 * `npm run bench`: trains the models of bench/models.ts (7.2's autoencoder at d = 8, 7.3's
 * U-Net at 48 channels, 7.4's VAE at d = 32; Adam lr 1e-3, batch 100) for a fixed number of
 * steps on every CPU backend that works here, each in its own process (clean peak memory),
 * and the same models in PyTorch. Prints ms per step, CPU ms per step, images per second,
 * GFLOP/s and its share of the cores' peak (one core's peak measured by the native addon:
 * independent fused multiply-adds on the widest vectors), peak memory and the ratio to
 * PyTorch at equal model, cores and batch; writes build/bench/results.json.
 *
 * Runs, per model: native (oneDNN) and wasm (XNNPACK) on 1, 2 and one thread per core (up to
 * 8), PyTorch on the CPU with OPENBLAS_NUM_THREADS=1 and torch.set_num_threads(t) at the same
 * counts. For the autoencoder only: webgpu at batch 100 and 1000, forced (a software adapter
 * is measured too, labelled, at batch 100 on one step: it is Mesa, not a GPU), with wasm at
 * batch 1000 as its reference, and PyTorch on CUDA at both batches when it sees a GPU.
 * The first steps' losses of every run of one model at one batch size must agree (same data,
 * same initial weights): a backend that computes something else fails the benchmark.
 *
 * Env: DLC_BENCH_STEPS (timed steps, default 10, after 2 warm-up steps), DLC_BENCH_MODELS
 * (default "autoencoder,unet,vae"), DLC_BENCH_WEBGPU_BATCHES (default "100,1000"; "" skips
 * webgpu), DLC_BENCH_CPU=1 to time one step of the pure-JS cpu backend (about 400 s),
 * DLC_BENCH_PYTHON (the python3 with PyTorch; default /usr/bin/python3).
 * Absolute times move +-30% on a shared machine: compare the ratios of one run.
 */
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { writeFileAtomic } from "../lib/atomic-write";
import { initBackend, type BackendName } from "../lib/backend";
import { GLES_ROUTE, NATIVE_ROUTE, adapterName } from "../lib/backend/dawn";
import { loadNative } from "../lib/backend/native";
import { chooseAdapter, webGpuAdapter, webGpuErrors } from "../lib/backend/webgpu";
import { Rng } from "../lib/random";
import { settings } from "../lib/settings";
import { stepFlops } from "./flops";
import { BENCH_MODELS, benchModel, type BenchModelName } from "./models";
import {
  LOSS_RTOL,
  isResult,
  lossMismatches,
  parseBatches,
  ratioLines,
  table,
  type BenchResult,
  type Skipped,
} from "./report";
import { trainStep } from "./step";

const BASE_BATCH = 100;
const WARMUP = 2;
/** Steps whose losses are compared across backends (warm-up steps included). */
const CHECKED_LOSSES = 3;
const MAX_THREADS = 8;

interface Job {
  model: BenchModelName;
  backend: BackendName;
  batch: number;
  steps: number;
  warmup: number;
  threads?: number;
}

function positiveIntEnv(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}=${v}: use a positive integer`);
  return n;
}

/** Child process: times the training steps of one job and prints one RESULT line. */
async function child(job: Job): Promise<void> {
  const report = await initBackend({ force: job.backend, quiet: true });
  const threadsMatch = /(\d+) threads?/.exec(report.line);
  const threads = threadsMatch ? Number(threadsMatch[1]) : 1;
  const model = benchModel(job.model);
  const shape = model.inputShape(job.batch);
  const rng = Rng.stream("bench/data");
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = rng.next();
  const x = tf.tensor(data, shape);
  const optimizer = tf.train.adam(1e-3);
  const losses: number[] = [];
  for (let i = 0; i < job.warmup; i++) losses.push(await trainStep(model, optimizer, x));
  // The arithmetic of one step, on a model of its own (the timed one keeps its weights).
  const twin = benchModel(job.model);
  const twinOptimizer = tf.train.adam(1e-3);
  const flops = await stepFlops(async () => {
    await trainStep(twin, twinOptimizer, x);
  });
  twin.dispose();
  twinOptimizer.dispose();
  const tensors = tf.memory().numTensors;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < job.steps; i++) losses.push(await trainStep(model, optimizer, x));
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6 / job.steps;
  const cpu = process.cpuUsage(cpu0);
  const adapter = webGpuAdapter();
  if (job.backend === "webgpu" && webGpuErrors().length > 0) {
    throw new Error(`webgpu reported GPU errors: ${webGpuErrors().join(" | ")}`);
  }
  const result: BenchResult = {
    model: job.model,
    backend: `tfjs ${job.backend}`,
    detail: report.line.replace(/^tfjs backend: /, "").replace(/; skipped.*$/, ""),
    threads,
    device: job.backend === "webgpu" || job.backend === "tensorflow" ? "gpu" : "cpu",
    batch: job.batch,
    steps: job.steps,
    msPerStep: wallMs,
    cpuMsPerStep: (cpu.user + cpu.system) / 1000 / job.steps,
    imagesPerSecond: (job.batch * 1000) / wallMs,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    losses: losses.slice(0, CHECKED_LOSSES),
    tensorsLeaked: tf.memory().numTensors - tensors,
    gflopPerStep: flops / 1e9,
    ...(adapter !== null ? { software: adapter.software } : {}),
  };
  if (job.backend === "tensorflow") result.device = report.line.includes("gpu") ? "gpu" : "cpu";
  console.log(`RESULT ${JSON.stringify(result)}`);
  model.dispose();
  optimizer.dispose();
  x.dispose();
}

function runChild(job: Job): BenchResult | Skipped {
  const env: NodeJS.ProcessEnv = { ...process.env, DLC_BACKEND: "" };
  if (job.threads !== undefined) env.DLC_THREADS = String(job.threads);
  const out = spawnSync(
    process.execPath,
    [...process.execArgv, __filename, "--child", JSON.stringify(job)],
    { encoding: "utf8", env, maxBuffer: 1 << 24 },
  );
  const line = out.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (out.status !== 0 || line === undefined) {
    const why = (out.stderr || out.stdout).trim().split("\n").slice(-3).join(" | ");
    return {
      backend: `${job.model}: tfjs ${job.backend} batch ${job.batch}`,
      reason: `failed (exit ${out.status}): ${why}`,
    };
  }
  return JSON.parse(line.slice("RESULT ".length)) as BenchResult;
}

interface TorchJob {
  model: BenchModelName;
  device: "cpu" | "cuda";
  threads: number;
  batch: number;
  steps: number;
  warmup: number;
}

function python(): string {
  return process.env.DLC_BENCH_PYTHON || "/usr/bin/python3";
}

/** Whether PyTorch imports, and whether it sees a CUDA GPU (null when it does not import). */
function torchProbe(): { cuda: boolean } | Skipped {
  const probe = spawnSync(python(), ["-c", "import torch; print(torch.cuda.is_available())"], {
    encoding: "utf8",
  });
  if (probe.status !== 0) {
    return {
      backend: "pytorch",
      reason:
        `${python()} cannot import torch ` +
        "(apt-get install -y python3-torch libopenblas0-pthread, or set DLC_BENCH_PYTHON)",
    };
  }
  return { cuda: probe.stdout.trim() === "True" };
}

function runTorch(job: TorchJob): BenchResult | Skipped {
  const script = path.join(__dirname, "torch_reference.py");
  const args = [script, "--model", job.model, "--device", job.device];
  args.push("--threads", String(job.threads));
  args.push("--batch", String(job.batch), "--steps", String(job.steps));
  args.push("--warmup", String(job.warmup));
  // OpenBLAS would otherwise spin a thread of its own on another core.
  const env = { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: String(job.threads) };
  const out = spawnSync(python(), args, { encoding: "utf8", env });
  const line = out.stdout.trim().split("\n").pop() ?? "";
  if (out.status !== 0 || !line.startsWith("{")) {
    return {
      backend: `${job.model}: pytorch ${job.device} batch ${job.batch}`,
      reason: `failed: ${out.stderr.trim().split("\n").pop()}`,
    };
  }
  return { ...(JSON.parse(line) as BenchResult), losses: [] };
}

/**
 * Which webgpu runs to make. A software adapter (Mesa's llvmpipe: seconds per step) runs
 * batch 100 only, on one timed step, unless DLC_BENCH_WEBGPU_BATCHES names the batches.
 */
async function webgpuPlan(
  batches: number[],
  explicit: boolean,
  steps: number,
): Promise<{ batches: number[]; steps: number; skipped: Skipped[] }> {
  if (batches.length === 0) return { batches, steps, skipped: [] };
  // As DLC_BACKEND=webgpu would: a software adapter is measured too, and labelled.
  const found = await chooseAdapter([NATIVE_ROUTE, GLES_ROUTE], true);
  if (!found.ok)
    return { batches: [], steps, skipped: [{ backend: "tfjs webgpu", reason: found.reason }] };
  if (!found.value.software) return { batches, steps, skipped: [] };
  const kept = explicit ? batches : batches.filter((b) => b === BASE_BATCH);
  const name = adapterName(found.value.dawn.info);
  const skipped = batches
    .filter((b) => !kept.includes(b))
    .map((b) => ({
      backend: `tfjs webgpu batch ${b}`,
      reason: `only a software adapter here (${name}); DLC_BENCH_WEBGPU_BATCHES=${b} runs it`,
    }));
  return { batches: kept, steps: 1, skipped };
}

/** DLC_BENCH_MODELS: comma-separated names of bench/models.ts. */
function benchModels(): BenchModelName[] {
  const v = process.env.DLC_BENCH_MODELS;
  if (v === undefined || v.trim() === "") return [...BENCH_MODELS];
  return v.split(",").map((s) => {
    const name = s.trim();
    if (!(BENCH_MODELS as readonly string[]).includes(name)) {
      throw new Error(`DLC_BENCH_MODELS=${v}: use names among ${BENCH_MODELS.join(", ")}`);
    }
    return name as BenchModelName;
  });
}

/** One core's peak GFLOP/s, measured by the addon, and the line that says how. */
function corePeak(): { gflops: number | null; line: string } {
  const native = loadNative();
  if (!native.ok) return { gflops: null, line: `peak: not measured (${native.reason})` };
  const { gflops, lanes } = native.addon.peak();
  const isa = lanes === 16 ? "AVX-512" : lanes === 8 ? "AVX2" : `${lanes} lanes`;
  return {
    gflops,
    line:
      `peak: ${gflops.toFixed(1)} GFLOP/s per core, measured: ${isa} FMA, ${lanes} float32 ` +
      `lanes x 2 FLOPs per FMA x ${(gflops / (2 * lanes)).toFixed(2)} G FMA/s ` +
      `(FMA issue rate x clock)`,
  };
}

async function main(): Promise<void> {
  const steps = positiveIntEnv("DLC_BENCH_STEPS", 10);
  const models = benchModels();
  const webgpuBatches = parseBatches(
    "DLC_BENCH_WEBGPU_BATCHES",
    process.env.DLC_BENCH_WEBGPU_BATCHES,
    [BASE_BATCH, 1000],
  );
  const cores = os.availableParallelism();
  const machine = `${os.cpus()[0]?.model ?? "unknown CPU"}, ${cores} cores, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}, node ${process.version}`;
  console.log(
    `bench: ${models.join(", ")}; batch ${BASE_BATCH}, Adam 1e-3, ${steps} steps after ${WARMUP}`,
  );
  console.log(`machine: ${machine}`);
  const peak = corePeak();
  console.log(peak.line);
  const results: BenchResult[] = [];
  const skipped: Skipped[] = [];
  // One line per run as it ends: a run cut short still leaves the finished ones' figures.
  const add = (r: BenchResult | Skipped): void => {
    if (isResult(r)) {
      results.push(r);
      console.log(
        `  ${r.model}: ${r.backend}, ${r.threads} thread(s), batch ${r.batch}: ` +
          `${r.msPerStep.toFixed(1)} ms/step, ${r.cpuMsPerStep.toFixed(1)} CPU ms/step`,
      );
    } else {
      skipped.push(r);
      console.log(`  ${r.backend}: ${r.reason}`);
    }
  };
  const job = (
    model: BenchModelName,
    backend: BackendName,
    batch: number,
    extra: Partial<Job> = {},
  ): Job => ({ model, backend, batch, steps, warmup: WARMUP, ...extra });

  const report = await initBackend({ quiet: true });
  const threadCounts = Array.from(new Set([1, Math.min(cores, 2), Math.min(cores, MAX_THREADS)]));
  const native = loadNative();
  const torch = torchProbe();
  if ("reason" in torch) skipped.push(torch);
  for (const model of models) {
    if (model === "autoencoder" && report.name === "tensorflow") {
      add(runChild(job(model, "tensorflow", BASE_BATCH)));
    }
    for (const t of threadCounts) {
      if (native.ok) add(runChild(job(model, "native", BASE_BATCH, { threads: t })));
      add(runChild(job(model, "wasm", BASE_BATCH, { threads: t })));
      if (!("reason" in torch)) {
        const torchJob = { model, device: "cpu" as const, threads: t, batch: BASE_BATCH };
        add(runTorch({ ...torchJob, steps, warmup: WARMUP }));
      }
    }
  }
  if (!native.ok) skipped.push({ backend: "tfjs native", reason: native.reason });

  // The autoencoder on the GPU backends, as before the native path.
  const explicit = (process.env.DLC_BENCH_WEBGPU_BATCHES ?? "") !== "";
  const webgpu = models.includes("autoencoder")
    ? await webgpuPlan(webgpuBatches, explicit, steps)
    : { batches: [], steps, skipped: [] };
  skipped.push(...webgpu.skipped);
  // Why the default selection passed over the faster backends (webgpu is measured forced).
  for (const s of report.skipped) {
    if (s.name === "webgpu" && webgpu.batches.length > 0) continue;
    if (s.name === "native") continue; // said above
    skipped.push({ backend: `tfjs ${s.name}`, reason: s.reason });
  }
  for (const batch of webgpu.batches) {
    // The CPU path at the same batch, on every core: the losses' reference and the CPU figure.
    if (batch !== BASE_BATCH) {
      const ref = { threads: Math.min(cores, MAX_THREADS), steps: 2, warmup: 1 };
      add(runChild(job("autoencoder", native.ok ? "native" : "wasm", batch, ref)));
    }
    add(runChild(job("autoencoder", "webgpu", batch, { steps: webgpu.steps })));
  }
  if (process.env.DLC_BENCH_CPU === "1")
    add(runChild(job("autoencoder", "cpu", BASE_BATCH, { warmup: 0, steps: 1 })));
  else
    skipped.push({
      backend: "tfjs cpu",
      reason: "about 400 s per step; DLC_BENCH_CPU=1 times one step",
    });
  if (!("reason" in torch) && torch.cuda && models.includes("autoencoder")) {
    for (const batch of webgpuBatches) {
      const cuda = { model: "autoencoder" as const, device: "cuda" as const, threads: 1 };
      add(runTorch({ ...cuda, batch, steps, warmup: WARMUP }));
    }
  } else if (!("reason" in torch) && webgpu.batches.length > 0) {
    skipped.push({ backend: "pytorch cuda", reason: "PyTorch sees no CUDA GPU here" });
  }
  // PyTorch rows count the same arithmetic as ours for the same model and batch.
  for (const r of results) {
    if (r.gflopPerStep !== undefined) continue;
    const ours = results.find(
      (o) => o.model === r.model && o.batch === r.batch && o.gflopPerStep !== undefined,
    );
    if (ours !== undefined) r.gflopPerStep = ours.gflopPerStep;
  }

  console.log("");
  console.log(table(results, peak.gflops));
  const gpu = results.find((r) => r.backend === "tfjs webgpu");
  if (gpu) console.log(`webgpu: ${gpu.detail}`);
  for (const model of models) {
    const r = results.find((x) => x.model === model && x.gflopPerStep !== undefined);
    if (r)
      console.log(`${model}: ${r.gflopPerStep!.toFixed(2)} GFLOP per step at batch ${r.batch}`);
  }
  for (const line of ratioLines(results, BASE_BATCH)) console.log(line);
  for (const s of skipped) console.log(`skipped ${s.backend}: ${s.reason}`);
  const mismatches = lossMismatches(results);
  const checked = results.filter((r) => r.losses.length > 0).length;
  if (mismatches.length === 0) {
    console.log(
      `losses: the first ${CHECKED_LOSSES} steps of all ${checked} runs agree within ${LOSS_RTOL} per model and batch`,
    );
  } else {
    for (const m of mismatches) console.log(`LOSS MISMATCH ${m}`);
    process.exitCode = 1;
  }

  const file = path.join(settings.buildDir, "bench", "results.json");
  const body = {
    date: new Date().toISOString(),
    machine,
    peakGflopsPerCore: peak.gflops,
    steps,
    results,
    skipped,
    mismatches,
  };
  writeFileAtomic(file, JSON.stringify(body, null, 2) + "\n");
  console.log(`wrote ${path.relative(settings.root, file)}`);
}

const argv = process.argv;
const at = argv.indexOf("--child");
if (at >= 0) {
  child(JSON.parse(argv[at + 1] as string) as Job).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
} else {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
