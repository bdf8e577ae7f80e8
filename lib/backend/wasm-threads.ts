/**
 * Multithreaded wasm in Node. tfjs-backend-wasm 4.22 turns threads off in Node
 * (WASM_HAS_MULTITHREAD_SUPPORT is false there), hands Emscripten its worker script as
 * a blob: URL that Node's worker_threads cannot load, and caps the XNNPACK pool at
 * os.cpus().length / 2 (1 on a 2-core machine: why setThreadsCount(2) gave 1 thread).
 * `withWasmThreads` works around all three for the duration of the backend's
 * initialisation: the worker script goes to a real file, the worker loads the threaded
 * module with require, and os.cpus() reports enough cores for the requested count.
 */
import * as fs from "node:fs";
import type { CpuInfo } from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { setThreadsCount } from "@tensorflow/tfjs-backend-wasm";

// The module object itself (an `import * as` namespace would be a copy we cannot patch).
const os = require("node:os") as typeof import("node:os");

function wasmOutDir(): string {
  const pkg = require.resolve("@tensorflow/tfjs-backend-wasm/package.json");
  return path.join(path.dirname(pkg), "wasm-out");
}

/** Writes the pthread worker script to a file Node can start (once per process). */
function workerFile(): string {
  const dir = wasmOutDir();
  const factory = path.join(dir, "tfjs-backend-wasm-threaded-simd.js");
  const { wasmWorkerContents } = require(
    path.join(dir, "tfjs-backend-wasm-threaded-simd.worker.js"),
  ) as { wasmWorkerContents: string };
  // The worker is sent the main script as a Blob, which its importScripts cannot read in
  // Node: load the same factory from its file instead.
  const shim =
    `\n;global.importScripts=((orig)=>(u)=>{if(String(u).startsWith("blob:")){` +
    `global.WasmBackendModuleThreadedSimd=require(${JSON.stringify(factory)});return}` +
    `orig(u)})(global.importScripts);\n`;
  const file = path.join(os.tmpdir(), `dlc7-wasm-worker-${process.pid}.js`);
  const tmp = `${file}.tmp`;
  // The exported string holds "\n" escapes that must stay escapes (tfjs does the same).
  fs.writeFileSync(tmp, wasmWorkerContents.replace(/\n/g, "\\n") + shim);
  fs.renameSync(tmp, file);
  return file;
}

interface PThreads {
  runningWorkers?: { unref?: () => void }[];
  unusedWorkers?: { unref?: () => void }[];
}

/**
 * The pool's threads wait on the wasm memory for work and keep Node's event loop alive
 * (a script would never exit): let the process end without them.
 */
function unrefWorkers(): void {
  if (tf.getBackend() !== "wasm") return;
  const wasm = (tf.backend() as unknown as { wasm: { PThread?: PThreads } }).wasm;
  const pthreads = wasm.PThread;
  for (const w of [...(pthreads?.runningWorkers ?? []), ...(pthreads?.unusedWorkers ?? [])]) {
    w.unref?.();
  }
}

/**
 * Runs `init` (which must initialise the wasm backend) with `threads` XNNPACK threads.
 * Patches are undone when init settles.
 */
export async function withWasmThreads<T>(threads: number, init: () => Promise<T>): Promise<T> {
  if (!Number.isInteger(threads) || threads < 1 || threads > 8) {
    throw new Error(`wasm threads: ${threads} is not an integer between 1 and 8`);
  }
  if (threads === 1) return init();
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  setThreadsCount(threads);
  const file = workerFile();
  const cpus = os.cpus;
  const createObjectURL = URL.createObjectURL;
  const realCpus = cpus();
  const fake = Array.from({ length: 2 * threads }, (_, i) => realCpus[i % realCpus.length]);
  (os as { cpus: () => CpuInfo[] }).cpus = () => fake as CpuInfo[];
  URL.createObjectURL = (blob: Blob): string =>
    blob.type === "application/javascript" ? file : createObjectURL(blob);
  try {
    const result = await init();
    unrefWorkers();
    return result;
  } finally {
    (os as { cpus: () => CpuInfo[] }).cpus = cpus;
    URL.createObjectURL = createObjectURL;
  }
}
