/**
 * Backend selection: one call picks and initialises the fastest tfjs backend that
 * works here, and says in one line which one and why the faster ones were skipped.
 *
 * Order: tensorflow (tfjs-node-gpu, with a GPU visible) > tensorflow (tfjs-node) >
 * webgpu (real adapter, only when asked for until the notebooks read asynchronously) > native
 * (the wasm backend with its convolutions and matrix products on oneDNN, native/) > wasm
 * (XNNPACK, with our convolution-gradient kernels) > cpu.
 * DLC_BACKEND=<name> forces one; a forced backend that is not available is an error.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { BACKEND_NAMES, type BackendName, parseBackendName, readSettings } from "../settings";
import { loadNative } from "./native";
import { registerNativeKernels } from "./native-kernels";
import { registerWasmKernels } from "./wasm-kernels";
import { withWasmThreads } from "./wasm-threads";
import { findGpuAdapter, probeWebGpu, type Probe } from "./webgpu";

export type { BackendName };

/** What initBackend chose, in one printable line, and why the better ones were skipped. */
export interface BackendReport {
  name: BackendName;
  line: string;
  skipped: { name: BackendName; reason: string }[];
}

export interface InitBackendOptions {
  /** Use this backend or throw; overrides DLC_BACKEND. */
  force?: BackendName;
  /** Do not print the report line (it is still returned). */
  quiet?: boolean;
}

const ORDER: readonly BackendName[] = BACKEND_NAMES;

/** The tfjs backend behind each of ours: native is the wasm backend with native kernels. */
function tfjsName(name: BackendName): string {
  return name === "native" ? "wasm" : name;
}

let current: BackendReport | null = null;
let pending: Promise<BackendReport> | null = null;
let pendingForce: BackendName | undefined;

/** The backend chosen by initBackend, or null before it has run. */
export function backendReport(): BackendReport | null {
  return current;
}

/** Whether a module can be resolved, without loading it. */
function resolvable(id: string): boolean {
  try {
    require.resolve(id);
    return true;
  } catch {
    return false;
  }
}

function gpuVisible(): boolean {
  const visible = readSettings().cudaVisibleDevices;
  if (visible === "" || visible === "-1") return false;
  return fs.existsSync("/dev/nvidia0") || fs.existsSync("/dev/nvidiactl");
}

async function use(name: string): Promise<boolean> {
  try {
    const ok = await tf.setBackend(name);
    return ok && tf.getBackend() === name;
  } catch {
    return false;
  }
}

/** Loads one of the tfjs-node packages (they register the "tensorflow" backend). */
async function tryTensorflowPackage(pkg: string): Promise<Probe> {
  if (!resolvable(pkg)) {
    return { ok: false, reason: `${pkg} not installed (its install step downloads libtensorflow)` };
  }
  try {
    // A variable id keeps TypeScript from resolving an optional dependency at compile time.
    const id: string = pkg;
    require(id);
  } catch (e) {
    return { ok: false, reason: `${pkg} failed to load: ${(e as Error).message.split("\n")[0]}` };
  }
  if (!(await use("tensorflow"))) {
    return { ok: false, reason: `${pkg} loaded but the tensorflow backend did not initialise` };
  }
  return { ok: true, detail: pkg };
}

async function probeTensorflow(): Promise<Probe> {
  const reasons: string[] = [];
  if (gpuVisible()) {
    const gpu = await tryTensorflowPackage("@tensorflow/tfjs-node-gpu");
    if (gpu.ok) return gpu;
    reasons.push(gpu.reason);
  } else {
    reasons.push("no GPU visible for @tensorflow/tfjs-node-gpu");
  }
  const cpu = await tryTensorflowPackage("@tensorflow/tfjs-node");
  if (cpu.ok) return cpu;
  reasons.push(cpu.reason);
  return { ok: false, reason: reasons.join("; ") };
}

/** DLC_THREADS, default one per core: oneDNN's threads, and XNNPACK's (up to 8). */
function threads(): number {
  return readSettings().threads ?? os.availableParallelism();
}

async function probeNative(): Promise<Probe> {
  const native = loadNative();
  if (!native.ok) return native;
  const { addon } = native;
  addon.setThreads(threads());
  registerWasmKernels();
  const kernels = registerNativeKernels(addon);
  // The wasm backend keeps the element-wise ops, which XNNPACK runs on one thread anyway.
  if (!(await withWasmThreads(1, () => use("wasm")))) {
    return { ok: false, reason: "the wasm backend under the native kernels did not initialise" };
  }
  const { version, isa, threads: used } = addon.info();
  const detail = `${version}, ${isa}, ${used} thread${used === 1 ? "" : "s"}; ${kernels.join(", ")}`;
  return { ok: true, detail: `${detail}; wasm for the rest` };
}

async function probeWasm(): Promise<Probe> {
  const kernels = registerWasmKernels();
  if (!(await withWasmThreads(Math.min(8, threads()), () => use("wasm")))) {
    return { ok: false, reason: "the wasm backend did not initialise" };
  }
  const simd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) === true;
  const used = getThreadsCount();
  const parts = [
    simd ? "XNNPACK SIMD" : "XNNPACK, no SIMD",
    `${used} thread${used === 1 ? "" : "s"}`,
    kernels.length > 0 ? `our kernels: ${kernels.join(", ")}` : "no extra kernels",
  ];
  return { ok: true, detail: parts.join(", ") };
}

async function probeCpu(): Promise<Probe> {
  return (await use("cpu"))
    ? { ok: true, detail: "plain JavaScript, slow: about 400 s per autoencoder step" }
    : { ok: false, reason: "the cpu backend did not initialise" };
}

async function probe(name: BackendName, forced: boolean): Promise<Probe> {
  switch (name) {
    case "tensorflow":
      return probeTensorflow();
    case "webgpu": {
      if (forced) return probeWebGpu({ allowSoftware: true });
      // train() reads tensors asynchronously, but the notebooks' metrics, grids and tables
      // read them synchronously, which WebGPU cannot: a GPU is named, and used when asked for.
      const gpu = await findGpuAdapter();
      if (!gpu.ok) return gpu;
      return {
        ok: false,
        reason:
          `${gpu.value} found, not used by default: the notebooks read tensors synchronously, ` +
          "which WebGPU cannot yet; DLC_BACKEND=webgpu trains on it",
      };
    }
    case "native":
      return probeNative();
    case "wasm":
      return probeWasm();
    case "cpu":
      return probeCpu();
  }
}

async function select(force: BackendName | undefined): Promise<BackendReport> {
  const skipped: { name: BackendName; reason: string }[] = [];
  const candidates = force === undefined ? ORDER : [force];
  for (const name of candidates) {
    const result = await probe(name, force !== undefined);
    if (result.ok) {
      const why =
        force !== undefined
          ? " (forced)"
          : skipped.length > 0
            ? `; skipped ${skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")}`
            : "";
      return { name, line: `tfjs backend: ${name} (${result.detail})${why}`, skipped };
    }
    if (force !== undefined) {
      throw new Error(
        `backend "${force}" was asked for (option force or DLC_BACKEND) but is not available: ` +
          `${result.reason}. Unset DLC_BACKEND or pick another of ${ORDER.join(", ")}.`,
      );
    }
    skipped.push({ name, reason: result.reason });
  }
  throw new Error(`no tfjs backend initialised: ${skipped.map((s) => s.reason).join("; ")}`);
}

/**
 * Selects and initialises the best available backend (or the forced one: option
 * `force`, else env DLC_BACKEND), prints one line saying which and why, and returns it.
 * Idempotent: later calls return the same report; asking for a different backend
 * after one was chosen is an error.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendReport> {
  const env = readSettings().backend;
  const force = options.force ?? env ?? undefined;
  if (options.force !== undefined) parseBackendName(options.force, "force");
  if (pending === null) {
    pendingForce = force;
    pending = select(force).then(
      (report) => {
        current = report;
        if (options.quiet !== true) console.log(report.line);
        return report;
      },
      (e: unknown) => {
        pending = null;
        throw e;
      },
    );
  }
  const report = await pending;
  if (force !== undefined && force !== report.name) {
    throw new Error(
      `initBackend: backend "${report.name}" is already initialised` +
        (pendingForce !== undefined ? ` (forced)` : "") +
        `; cannot switch to "${force}" in the same process.`,
    );
  }
  // Something (a test, a notebook cell) may have switched backends since: switch back.
  if (tf.getBackend() !== tfjsName(report.name) && !(await use(tfjsName(report.name)))) {
    throw new Error(`initBackend: cannot switch back to the "${report.name}" backend`);
  }
  return report;
}
