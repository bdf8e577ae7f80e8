/**
 * Run settings, read once from the environment, so that notebooks, tests and the
 * main job agree on quick mode, the seed, the dataset and where outputs go.
 */
import * as path from "node:path";

export type DatasetName = "mnist" | "fashion-mnist";

/** lib/backend's backends, in the order it tries them; DLC_BACKEND names one. */
export const BACKEND_NAMES = ["tensorflow", "webgpu", "native", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface Settings {
  /** DLC_QUICK=1: shrink data and epochs so that a notebook runs in the test suite. */
  readonly quick: boolean;
  /** DLC_SEED: the one seed every random draw derives from (default 0). */
  readonly seed: number;
  /** DLC_DATASET: "mnist" (default) or "fashion-mnist". */
  readonly dataset: DatasetName;
  /** Project root (the folder holding package.json). */
  readonly root: string;
  /** Git-ignored build folder: executed notebooks, figures, checkpoints. */
  readonly buildDir: string;
  /** DLC_FIGURES_DIR, default build/figures. */
  readonly figuresDir: string;
  /** DLC_CHECKPOINT_DIR, default build/checkpoints. */
  readonly checkpointDir: string;
  /** DLC_DATA_CACHE, default data/cache: the git-ignored download cache for datasets. */
  readonly dataCacheDir: string;
  /** MNIST_DIR / FASHION_MNIST_DIR: a directory that must hold the data set's IDX files. */
  readonly dataDirs: Readonly<Record<DatasetName, string | null>>;
  /** DLC_RUN_STATE: the main job's file naming the notebook and cell running now. */
  readonly runStateFile: string | null;
  /** DLC_BACKEND: a backend to force, or null. */
  readonly backend: BackendName | null;
  /** DLC_THREADS: threads of the CPU backends (oneDNN, XNNPACK), 1 to 64 (null: one per core). */
  readonly threads: number | null;
  /** DLC_NATIVE_ADDON: the native addon's file, overriding native/build/Release's. */
  readonly nativeAddon: string | null;
  /** CUDA_VISIBLE_DEVICES as set (null when unset): "" or "-1" hides the GPUs. */
  readonly cudaVisibleDevices: string | null;
  /** DLC_DAWN_NODE: the path of Dawn's dawn.node, overriding the webgpu package's. */
  readonly dawnNode: string | null;
  /** DLC_CHECK_RECORDS=1: assignment checks also print machine-readable records (the grader). */
  readonly checkRecords: boolean;
  /** What the dynamic linker and the Vulkan loader read, for lib/backend's diagnostics. */
  readonly system: SystemPaths;
}

/** The search paths of the dynamic linker and the Vulkan loader, as the environment sets them. */
export interface SystemPaths {
  /** LD_LIBRARY_PATH's folders. */
  readonly ldLibraryPath: readonly string[];
  /** VK_DRIVER_FILES (or the older VK_ICD_FILENAMES): driver manifests, or null when unset. */
  readonly vulkanDriverFiles: readonly string[] | null;
  /** XDG_CONFIG_DIRS, default /etc/xdg. */
  readonly xdgConfigDirs: readonly string[];
  /** XDG_DATA_DIRS, default /usr/local/share:/usr/share. */
  readonly xdgDataDirs: readonly string[];
}

/** The variable naming each data set's directory. */
export const DATA_DIR_VARIABLES: Readonly<Record<DatasetName, string>> = {
  mnist: "MNIST_DIR",
  "fashion-mnist": "FASHION_MNIST_DIR",
};

let root: string | null = null;

function findRoot(): string {
  if (root !== null) return root;
  // lib/ is compiled to build/lib/, so walk up to the folder with package.json.
  const fs = require("node:fs") as typeof import("node:fs");
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg)) {
      const name = (JSON.parse(fs.readFileSync(pkg, "utf8")) as { name?: string }).name;
      if (name === "dlc-lecture7") return (root = dir);
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the project root above ${__dirname}`);
    dir = up;
  }
}

function parseFlag(name: string, value: string | undefined): boolean {
  if (value === undefined || value === "" || value === "0" || value === "false") return false;
  if (value === "1" || value === "true") return true;
  throw new Error(`${name}=${value}: use 1 or 0`);
}

function parseSeed(value: string | undefined): number {
  if (value === undefined || value === "") return 0;
  // Decimal digits only: Number() would also take "0x10", "1e3" or " 7 ".
  const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1) {
    throw new Error(`DLC_SEED=${value}: use a decimal integer between 0 and 2^31 - 1 (e.g. 42)`);
  }
  return n;
}

function parseDataset(value: string | undefined): DatasetName {
  if (value === undefined || value === "" || value === "mnist") return "mnist";
  if (value === "fashion-mnist") return "fashion-mnist";
  throw new Error(`DLC_DATASET=${value}: use "mnist" or "fashion-mnist"`);
}

/** A backend's name (`source` says where it came from, e.g. "DLC_BACKEND"), or an error. */
export function parseBackendName(value: string, source: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new Error(`${source}=${value}: not a backend; use one of ${BACKEND_NAMES.join(", ")}`);
}

function parseThreads(value: string | undefined): number | null {
  if (value === undefined || value === "") return null;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 64) {
    throw new Error(
      `DLC_THREADS=${value}: use an integer between 1 and 64 (default: one per core)`,
    );
  }
  return n;
}

/** A colon-separated list of folders (empty entries dropped), or the default list. */
function paths(value: string | undefined, fallback: string): string[] {
  return (value || fallback).split(":").filter((d) => d !== "");
}

/** One or more bad settings: the message has one line per setting. */
export class SettingsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"));
    this.name = "SettingsError";
  }
}

/**
 * The settings of `env` parsed, each bad one as a line ("DLC_SEED=abc: use ..."), so that a
 * tool can report them all before starting any work (tools/run-notebooks.ts does).
 */
function parseAll(env: NodeJS.ProcessEnv): {
  values: Pick<Settings, "quick" | "seed" | "dataset" | "backend" | "threads">;
  problems: string[];
} {
  const problems: string[] = [];
  const parse = <T>(fn: () => T, fallback: T): T => {
    try {
      return fn();
    } catch (e) {
      problems.push((e as Error).message);
      return fallback;
    }
  };
  const values = {
    quick: parse(() => parseFlag("DLC_QUICK", env.DLC_QUICK), false),
    seed: parse(() => parseSeed(env.DLC_SEED), 0),
    dataset: parse((): DatasetName => parseDataset(env.DLC_DATASET), "mnist"),
    backend: parse(
      (): BackendName | null =>
        env.DLC_BACKEND ? parseBackendName(env.DLC_BACKEND, "DLC_BACKEND") : null,
      null,
    ),
    threads: parse(() => parseThreads(env.DLC_THREADS), null),
  };
  return { values, problems };
}

/** Every bad setting in `env`, one line each (empty when all are good). */
export function settingsErrors(env: NodeJS.ProcessEnv = process.env): string[] {
  return parseAll(env).problems;
}

/**
 * Reads the settings from an environment (process.env by default). `settings` below is the
 * snapshot taken at start; what must follow changes made while running (tests) calls this.
 */
export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const { values, problems } = parseAll(env);
  if (problems.length > 0) throw new SettingsError(problems);
  const project = findRoot();
  const buildDir = path.join(project, "build");
  return {
    ...values,
    root: project,
    buildDir,
    figuresDir: env.DLC_FIGURES_DIR
      ? path.resolve(env.DLC_FIGURES_DIR)
      : path.join(buildDir, "figures"),
    checkpointDir: env.DLC_CHECKPOINT_DIR
      ? path.resolve(env.DLC_CHECKPOINT_DIR)
      : path.join(buildDir, "checkpoints"),
    dataCacheDir: env.DLC_DATA_CACHE
      ? path.resolve(env.DLC_DATA_CACHE)
      : path.join(project, "data", "cache"),
    dataDirs: {
      mnist: env.MNIST_DIR ? path.resolve(env.MNIST_DIR) : null,
      "fashion-mnist": env.FASHION_MNIST_DIR ? path.resolve(env.FASHION_MNIST_DIR) : null,
    },
    runStateFile: env.DLC_RUN_STATE ? env.DLC_RUN_STATE : null,
    nativeAddon: env.DLC_NATIVE_ADDON ? path.resolve(env.DLC_NATIVE_ADDON) : null,
    cudaVisibleDevices: env.CUDA_VISIBLE_DEVICES ?? null,
    dawnNode: env.DLC_DAWN_NODE ? env.DLC_DAWN_NODE : null,
    checkRecords: env.DLC_CHECK_RECORDS === "1",
    system: {
      ldLibraryPath: paths(env.LD_LIBRARY_PATH, ""),
      vulkanDriverFiles:
        env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES
          ? paths(env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES, "")
          : null,
      xdgConfigDirs: paths(env.XDG_CONFIG_DIRS, "/etc/xdg"),
      xdgDataDirs: paths(env.XDG_DATA_DIRS, "/usr/local/share:/usr/share"),
    },
  };
}

/**
 * The settings at start. With a bad value, importing lib still works and any read of
 * `settings` throws the SettingsError, so that a tool can first call settingsErrors() and
 * say what is wrong in one line per setting.
 */
export const settings: Settings = startSettings();

function startSettings(): Settings {
  try {
    return readSettings();
  } catch (e) {
    if (!(e instanceof SettingsError)) throw e;
    const fail = (): never => {
      throw e;
    };
    return new Proxy({} as Settings, { get: fail, has: fail, ownKeys: fail });
  }
}
