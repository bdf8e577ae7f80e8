/**
 * The benchmark's results: what one run measured, the table (with each row's GFLOP/s and its
 * share of the cores' peak), the ratios to PyTorch at equal model, cores and batch, and the
 * check that every backend saw the same first losses.
 */

/** Relative tolerance on the first losses: float32 sums in another order, three Adam steps. */
export const LOSS_RTOL = 1e-3;

export interface BenchResult {
  /** Which model was trained (bench/models.ts). */
  model: string;
  backend: string;
  detail: string;
  /** CPU threads doing the work (1 for a GPU run: the JavaScript or Python thread). */
  threads: number;
  /** "cpu" or "gpu": which PyTorch run a row is compared with. */
  device: "cpu" | "gpu";
  batch: number;
  steps: number;
  msPerStep: number;
  cpuMsPerStep: number;
  imagesPerSecond: number;
  peakRssMiB: number;
  /** Losses of the first steps (warm-up included), for the cross-backend check. */
  losses: number[];
  software?: boolean;
  tensorsLeaked?: number;
  /** Multiply-add FLOPs of one training step (bench/flops.ts), the same for every backend. */
  gflopPerStep?: number;
}

export interface Skipped {
  backend: string;
  reason: string;
}

/** DLC_BENCH_WEBGPU_BATCHES: comma-separated positive integers, "" for none. */
export function parseBatches(name: string, v: string | undefined, fallback: number[]): number[] {
  if (v === undefined) return fallback;
  if (v.trim() === "") return [];
  return v.split(",").map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(`${name}=${v}: use comma-separated positive integers, e.g. 100,1000`);
    }
    return n;
  });
}

export function isResult(r: BenchResult | Skipped): r is BenchResult {
  return (r as BenchResult).msPerStep !== undefined;
}

/** The PyTorch run a row compares with: same model, device kind, batch and (CPU) threads. */
export function torchFor(r: BenchResult, results: BenchResult[]): BenchResult | undefined {
  return results.find(
    (t) =>
      t.backend.startsWith("pytorch") &&
      t.model === r.model &&
      t.device === r.device &&
      t.batch === r.batch &&
      (r.device === "gpu" || t.threads === r.threads),
  );
}

/** GFLOP/s of a run, and its share of `threads` cores' peak (null when unknown). */
export function throughput(r: BenchResult, peakGflops: number | null): [number, number | null] {
  const gflops = r.gflopPerStep === undefined ? NaN : r.gflopPerStep / (r.msPerStep / 1000);
  const share =
    peakGflops === null || r.device !== "cpu" ? null : gflops / (peakGflops * r.threads);
  return [gflops, share];
}

export function table(results: BenchResult[], peakGflops: number | null = null): string {
  const head = [
    "model",
    "backend",
    "threads",
    "batch",
    "ms/step",
    "cpu ms/step",
    "images/s",
    "GFLOP/s",
    "% of peak",
    "peak RSS MiB",
    "/ PyTorch",
  ];
  const rows = results.map((r) => {
    const t = r.backend.startsWith("pytorch") ? undefined : torchFor(r, results);
    const [gflops, share] = throughput(r, peakGflops);
    return [
      r.model,
      r.backend + (r.software === true ? " (software adapter)" : ""),
      String(r.threads),
      String(r.batch),
      r.msPerStep.toFixed(1),
      r.cpuMsPerStep.toFixed(1),
      r.imagesPerSecond.toFixed(0),
      Number.isNaN(gflops) ? "-" : gflops.toFixed(1),
      share === null ? "-" : `${(100 * share).toFixed(0)}%`,
      r.peakRssMiB.toFixed(0),
      t ? `${(r.msPerStep / t.msPerStep).toFixed(2)}x` : "-",
    ];
  });
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((row) => (row[i] as string).length)));
  return all
    .map((row) =>
      row.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "),
    )
    .join("\n");
}

/**
 * Checks that every run of one model at one batch size saw the same first losses (within
 * LOSS_RTOL of the wasm run's, or of the first run's where there is no wasm run). Returns the
 * failures.
 */
export function lossMismatches(results: BenchResult[]): string[] {
  const failures: string[] = [];
  const groups = new Set(results.map((r) => `${r.model}\u0000${r.batch}`));
  for (const group of groups) {
    const [model, b] = group.split("\u0000") as [string, string];
    const batch = Number(b);
    // PyTorch starts from other initial weights: only our backends are compared.
    const runs = results.filter(
      (r) =>
        r.model === model &&
        r.batch === batch &&
        r.backend.startsWith("tfjs") &&
        r.losses.length > 0,
    );
    const ref = runs.find((r) => r.backend === "tfjs wasm") ?? runs[0];
    if (ref === undefined) continue;
    for (const r of runs) {
      if (r === ref) continue;
      const n = Math.min(r.losses.length, ref.losses.length);
      for (let i = 0; i < n; i++) {
        const [a, b] = [r.losses[i]!, ref.losses[i]!];
        const rel = Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
        if (!(rel <= LOSS_RTOL)) {
          failures.push(
            `${model}, batch ${batch}, step ${i + 1}: ${r.backend} loss ${a} vs ${ref.backend} ${b} ` +
              `(relative difference ${rel.toExponential(2)} > ${LOSS_RTOL})`,
          );
        }
      }
    }
  }
  return failures;
}

/**
 * "<model>: tfjs native / PyTorch at t threads" lines for our CPU backends: wall-time and
 * CPU-time ratios at equal model, cores and batch.
 */
export function ratioLines(results: BenchResult[], batch: number): string[] {
  const lines: string[] = [];
  const ours = (x: BenchResult): boolean =>
    (x.backend === "tfjs native" || x.backend === "tfjs wasm") && x.batch === batch;
  for (const r of results.filter(ours)) {
    const t = torchFor(r, results);
    if (t === undefined) continue;
    lines.push(
      `${r.model}: ${r.backend} / PyTorch at ${r.threads} thread${r.threads === 1 ? "" : "s"}, batch ${r.batch}: ` +
        `${(r.msPerStep / t.msPerStep).toFixed(2)}x wall time, ` +
        `${(r.cpuMsPerStep / t.cpuMsPerStep).toFixed(2)}x CPU time per step`,
    );
  }
  return lines;
}
