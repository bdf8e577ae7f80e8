/**
 * Builds what the GPU run (bench/gpu/run-on-device.sh) carries to a device machine that has
 * no Node and no network: Node itself (xz), the benchmarks bundled with esbuild (lib and
 * tfjs inside, tar.xz), Dawn's dawn.node (xz), the Vulkan loader .deb, and MNIST. Checks
 * that the carry and the working tree fit the device's 64 MiB limit.
 *
 *   MNIST_DIR=... npx tsx bench/gpu/build-carry.ts [--out DIR] [--force]
 * DIR defaults to .gpu-carry in the repository root; it is added to .git/info/exclude (the
 * device takes ignored paths only when named in `carry`). Node is recompressed only with
 * --force (xz -9 of 100 MB takes minutes).
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";

const ROOT = path.resolve(__dirname, "..", "..");
const LIMIT_MIB = 64;
const USAGE = "usage: build-carry.ts [--out DIR] [--force]   (MNIST_DIR must be set)";
/** Debian packages unpacked on the device where it lacks them: Vulkan's loader, GL dispatch. */
const DEBS = ["libvulkan1", "libglvnd0"];
const MNIST_FILES = [
  "train-images-idx3-ubyte.gz",
  "train-labels-idx1-ubyte.gz",
  "t10k-images-idx3-ubyte.gz",
  "t10k-labels-idx1-ubyte.gz",
];

function say(message: string): void {
  console.log(`build-carry: ${message}`);
}

function run(cmd: string, args: string[], cwd = ROOT): string {
  const out = spawnSync(cmd, args, { cwd, encoding: "utf8", maxBuffer: 1 << 26 });
  if (out.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${out.status}): ${out.stderr.trim()}`);
  }
  return out.stdout;
}

/** xz -9 of `src` into `dst` (a temporary file first: a killed build leaves no half file). */
function xz(src: string, dst: string): void {
  const tmp = `${dst}.tmp`;
  execFileSync("sh", ["-c", 'xz -9 -T0 -c "$0" > "$1"', src, tmp]);
  fs.renameSync(tmp, dst);
}

function fileSize(file: string): number {
  return fs.statSync(file).size;
}

function treeSize(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    total += entry.isDirectory() ? treeSize(p) : fs.statSync(p).size;
  }
  return total;
}

/** Bytes of what the device copies besides carried paths: tracked and untracked-not-ignored files. */
function workingTreeSize(): number {
  const files = run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
    .split("\0")
    .filter((f) => f !== "");
  return files.reduce((sum, f) => {
    const p = path.join(ROOT, f);
    return sum + (fs.existsSync(p) ? fs.statSync(p).size : 0);
  }, 0);
}

/** Makes `dir` ignored by git through info/exclude (a path in the repo root). */
function ignore(dir: string): void {
  const rel = path.relative(ROOT, dir);
  if (rel.startsWith("..") || path.isAbsolute(rel)) {
    throw new Error(`--out ${dir}: must be inside the repository (${ROOT}) to travel`);
  }
  const check = spawnSync("git", ["check-ignore", "-q", rel], { cwd: ROOT });
  if (check.status === 0) return;
  const exclude = path.resolve(
    ROOT,
    run("git", ["rev-parse", "--git-path", "info/exclude"]).trim(),
  );
  fs.mkdirSync(path.dirname(exclude), { recursive: true });
  fs.appendFileSync(exclude, `/${rel}/\n`);
  say(`added /${rel}/ to ${path.relative(ROOT, exclude)}`);
}

/** The benchmarks as two CommonJS bundles, with the files they load at run time beside them. */
async function bundle(app: string): Promise<void> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: {
      bench: path.join(ROOT, "bench", "run.ts"),
      epoch: path.join(ROOT, "bench", "epoch.ts"),
    },
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    outdir: app,
    minifyWhitespace: true,
    minifySyntax: true,
    // Resolved at run time from the bundle's folder (copied there below).
    external: ["@tensorflow/tfjs-backend-wasm/package.json", "webgpu/package.json"],
    logLevel: "error",
  });
  if (result.errors.length > 0) throw new Error("esbuild failed");
  // bench.js runs PyTorch's reference from its own folder.
  fs.copyFileSync(
    path.join(ROOT, "bench", "torch_reference.py"),
    path.join(app, "torch_reference.py"),
  );
  // settings.root is the folder whose package.json is named dlc-lecture7.
  const pkg = { name: "dlc-lecture7", private: true, description: "bundled benchmarks" };
  fs.writeFileSync(path.join(app, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
  // The wasm module loads its .wasm from the bundle's folder; the threads from wasm-out/.
  const wasmPkg = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"));
  for (const f of fs.readdirSync(path.join(wasmPkg, "dist")).filter((f) => f.endsWith(".wasm"))) {
    fs.copyFileSync(path.join(wasmPkg, "dist", f), path.join(app, f));
  }
  const wasmDest = path.join(app, "node_modules", "@tensorflow", "tfjs-backend-wasm");
  fs.mkdirSync(wasmDest, { recursive: true });
  fs.copyFileSync(path.join(wasmPkg, "package.json"), path.join(wasmDest, "package.json"));
  fs.cpSync(path.join(wasmPkg, "wasm-out"), path.join(wasmDest, "wasm-out"), { recursive: true });
  // dawn.node travels compressed beside this folder; its place is prepared here.
  const webgpuPkg = path.dirname(require.resolve("webgpu/package.json"));
  const webgpuDest = path.join(app, "node_modules", "webgpu");
  fs.mkdirSync(path.join(webgpuDest, "dist", "linux-x64"), { recursive: true });
  fs.copyFileSync(path.join(webgpuPkg, "package.json"), path.join(webgpuDest, "package.json"));
}

async function main(): Promise<void> {
  let values: { out?: string; force?: boolean };
  try {
    const options = { out: { type: "string" }, force: { type: "boolean" } } as const;
    values = parseArgs({ options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${USAGE}`);
  }
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(
      `the device is linux x86-64: build the carry there, not on ${process.platform}-${process.arch}`,
    );
  }
  const mnist = process.env.MNIST_DIR;
  if (mnist === undefined || mnist === "") throw new Error(`MNIST_DIR is not set\n${USAGE}`);
  const out = path.resolve(values.out ?? path.join(ROOT, ".gpu-carry"));
  ignore(out);
  fs.mkdirSync(out, { recursive: true });

  const nodeXz = path.join(out, "node.xz");
  if (values.force === true || !fs.existsSync(nodeXz)) {
    say(`compressing ${process.execPath} (node ${process.version}; a few minutes)`);
    xz(process.execPath, nodeXz);
  }
  const dawn = path.join(
    path.dirname(require.resolve("webgpu/package.json")),
    "dist",
    "linux-x64",
    "dawn.node",
  );
  const dawnXz = path.join(out, "dawn.node.xz");
  if (
    values.force === true ||
    !fs.existsSync(dawnXz) ||
    fs.statSync(dawnXz).mtimeMs < fs.statSync(dawn).mtimeMs
  ) {
    say("compressing dawn.node");
    xz(dawn, dawnXz);
  }

  say("bundling bench/run.ts and bench/epoch.ts with esbuild");
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), "dlc7-carry-"));
  try {
    const app = path.join(staging, "app");
    fs.mkdirSync(app);
    await bundle(app);
    const tmp = path.join(out, "app.tar.xz.tmp");
    execFileSync("tar", ["-C", staging, "-cJf", tmp, "app"]);
    fs.renameSync(tmp, path.join(out, "app.tar.xz"));
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }

  const debs = path.join(out, "debs");
  fs.mkdirSync(debs, { recursive: true });
  for (const name of DEBS) {
    if (fs.readdirSync(debs).some((f) => f.startsWith(`${name}_`))) continue;
    say(`apt-get download ${name}`);
    run("apt-get", ["download", "-oAPT::Architecture=amd64", name], debs);
  }

  const mnistOut = path.join(out, "mnist");
  fs.mkdirSync(mnistOut, { recursive: true });
  for (const f of [...MNIST_FILES, "SHA256SUMS"]) {
    const src = path.join(mnist, f);
    if (!fs.existsSync(src)) {
      if (f === "SHA256SUMS") continue;
      throw new Error(`MNIST_DIR=${mnist}: ${f} is missing`);
    }
    fs.copyFileSync(src, path.join(mnistOut, f));
  }

  const carry = treeSize(out);
  const tree = workingTreeSize();
  const mib = (n: number): string => (n / 2 ** 20).toFixed(1);
  const lines = [
    `built ${new Date().toISOString()} on ${os.hostname()}, node ${process.version}`,
    ...fs
      .readdirSync(out)
      .sort()
      .map((f) => {
        const p = path.join(out, f);
        return `${f}: ${mib(fs.statSync(p).isDirectory() ? treeSize(p) : fileSize(p))} MiB`;
      }),
    `carry ${mib(carry)} MiB + working tree ${mib(tree)} MiB = ${mib(carry + tree)} MiB (limit ${LIMIT_MIB})`,
  ];
  fs.writeFileSync(path.join(out, "MANIFEST.txt"), lines.join("\n") + "\n");
  for (const l of lines) say(l);
  if (carry + tree > LIMIT_MIB * 2 ** 20) {
    throw new Error(
      `carry and working tree are ${mib(carry + tree)} MiB, over the ${LIMIT_MIB} MiB limit`,
    );
  }
  say(`ready: run on the device with carry [${JSON.stringify(path.relative(ROOT, out))}] and`);
  say(`  bash bench/gpu/run-on-device.sh --carry ${path.relative(ROOT, out)} --out "$OUT"`);
}

main().catch((e: unknown) => {
  console.error(`build-carry: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
