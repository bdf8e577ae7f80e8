/**
 * `npm run bench:profile`: where a training step's time goes, kernel by kernel, on the wasm
 * path (XNNPACK) and on the native one (oneDNN), one thread each (DLC_THREADS to change it).
 * One step of each model of bench/models.ts is profiled (tf.profile) after two warm-up steps,
 * in a process per backend; the kernels are grouped by what they do, Adam's apart (its
 * update is profiled on its own), and the time outside kernels (JavaScript, the tape) is
 * what the step's wall time leaves. Prints one Markdown table per model (the README's) and
 * writes build/bench/profile.json.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { writeFileAtomic } from "../lib/atomic-write";
import { initBackend } from "../lib/backend";
import { Rng } from "../lib/random";
import { settings } from "../lib/settings";
import { BENCH_MODELS, benchModel, type BenchModelName } from "./models";

const CATEGORIES: ReadonlyArray<[string, readonly string[]]> = [
  ["convolutions, forward", ["Conv2D", "FusedConv2D"]],
  ["convolutions, input gradient", ["Conv2DBackpropInput"]],
  ["convolutions, filter gradient", ["Conv2DBackpropFilter"]],
  ["matrix products", ["BatchMatMul", "_FusedMatMul"]],
  ["pooling and its gradient", ["MaxPool", "MaxPoolGrad", "AvgPool", "AvgPoolGrad"]],
  ["sums (bias gradients)", ["Sum", "Mean"]],
  [
    "copies: concat, split, slice, pad, transpose, identity",
    ["Concat", "SplitV", "Slice", "PadV2", "Transpose", "Identity", "Cast", "Reshape", "Tile"],
  ],
];
const ELEMENTWISE = "element-wise (activations and their gradients, losses)";
const ADAM = "Adam's update";
const OUTSIDE = "outside kernels (JavaScript, the tape)";
const ROWS = [...CATEGORIES.map(([name]) => name), ELEMENTWISE, ADAM, OUTSIDE];

type Profile = Record<string, number>;
/** What Adam takes: tfjs types variableGrads' map apart from it. */
type Grads = Parameters<tf.AdamOptimizer["applyGradients"]>[0];

function category(kernel: string): string {
  for (const [name, kernels] of CATEGORIES) if (kernels.includes(kernel)) return name;
  return ELEMENTWISE;
}

/** Child: one profiled step of `model` on `backend`; prints a PROFILE line of ms per row. */
async function child(backend: "native" | "wasm", model: BenchModelName): Promise<void> {
  await initBackend({ force: backend, quiet: true });
  const m = benchModel(model);
  const shape = m.inputShape(100);
  const rng = Rng.stream("bench/data");
  const x = tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.next()),
    shape,
  );
  const optimizer = tf.train.adam(1e-3);
  const step = async (): Promise<void> => {
    const { value, grads } = tf.variableGrads(() => m.loss(x), m.parameters);
    optimizer.applyGradients(grads as unknown as Grads);
    await value.data();
    tf.dispose([value, grads]);
  };
  for (let i = 0; i < 2; i++) await step();
  const out: Profile = Object.fromEntries(ROWS.map((r) => [r, 0]));
  const t0 = performance.now();
  let grads: tf.NamedTensorMap = {};
  // tf.profile returns the same object each time: keep each one's kernels.
  const gradKernels = [
    ...(
      await tf.profile(() => {
        const g = tf.variableGrads(() => m.loss(x), m.parameters);
        g.value.dataSync();
        g.value.dispose();
        grads = g.grads;
      })
    ).kernels,
  ];
  const adamKernels = [
    ...(await tf.profile(() => optimizer.applyGradients(grads as unknown as Grads))).kernels,
  ];
  const wall = performance.now() - t0;
  tf.dispose(grads);
  let kernels = 0;
  for (const k of gradKernels) {
    out[category(k.name)]! += k.kernelTimeMs as number;
    kernels += k.kernelTimeMs as number;
  }
  for (const k of adamKernels) {
    out[ADAM]! += k.kernelTimeMs as number;
    kernels += k.kernelTimeMs as number;
  }
  out[OUTSIDE] = Math.max(0, wall - kernels);
  console.log(`PROFILE ${JSON.stringify({ total: wall, rows: out })}`);
  m.dispose();
  optimizer.dispose();
  x.dispose();
}

function runChild(
  backend: string,
  model: BenchModelName,
): { total: number; rows: Profile } | string {
  const out = spawnSync(
    process.execPath,
    [...process.execArgv, __filename, "--child", backend, model],
    {
      encoding: "utf8",
      env: { ...process.env, DLC_BACKEND: "", DLC_THREADS: process.env.DLC_THREADS || "1" },
    },
  );
  const line = out.stdout.split("\n").find((l) => l.startsWith("PROFILE "));
  if (out.status !== 0 || line === undefined) {
    return (out.stderr || out.stdout).trim().split("\n").slice(-2).join(" | ");
  }
  return JSON.parse(line.slice("PROFILE ".length)) as { total: number; rows: Profile };
}

function main(): void {
  const threads = process.env.DLC_THREADS || "1";
  console.log(`profile: one training step, batch 100, ${threads} thread(s); ms per step`);
  const all: Record<string, Record<string, { total: number; rows: Profile } | string>> = {};
  for (const model of BENCH_MODELS) {
    const runs = { wasm: runChild("wasm", model), native: runChild("native", model) };
    all[model] = runs;
    console.log(`\n${model}\n`);
    const cols = Object.keys(runs) as (keyof typeof runs)[];
    console.log(`| ${["kernels", ...cols.map((c) => `${c} ms`)].join(" | ")} |`);
    console.log(`| ${["---", ...cols.map(() => "---:")].join(" | ")} |`);
    for (const row of [...ROWS, "total"]) {
      const cells = cols.map((c) => {
        const r = runs[c];
        if (typeof r === "string") return "-";
        const v = row === "total" ? r.total : (r.rows[row] ?? 0);
        return `${v.toFixed(1)} (${((100 * v) / r.total).toFixed(0)}%)`;
      });
      console.log(`| ${[row, ...cells].join(" | ")} |`);
    }
    for (const c of cols) {
      const r = runs[c];
      if (typeof r === "string") console.log(`${c}: failed: ${r}`);
    }
  }
  const file = path.join(settings.buildDir, "bench", "profile.json");
  writeFileAtomic(
    file,
    JSON.stringify({ date: new Date().toISOString(), threads, profiles: all }, null, 2) + "\n",
  );
  console.log(`\nwrote ${path.relative(settings.root, file)}`);
}

const at = process.argv.indexOf("--child");
if (at >= 0) {
  child(process.argv[at + 1] as "native" | "wasm", process.argv[at + 2] as BenchModelName).catch(
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
} else {
  main();
}
