/**
 * Compiles lib/ to build/lib/ and links it as the package "dlc7", so that notebooks
 * import it as `import { ... } from "dlc7/data"` wherever the kernel runs
 * (tslab compiles cells with rootDir = the notebook's folder, so `../lib` cannot be
 * imported from notebooks/ directly).
 *
 * tslab watches the files a kernel has imported and dies ("Unexpected pending
 * rebuildTimer") when several change under it: so the compiler writes to a staging
 * folder and only files whose content changed are copied over build/lib.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.resolve(__dirname, "..");
const out = path.join(root, "build", "lib");
const staging = path.join(root, "build", "lib-staging");

function listFiles(dir: string, base = dir): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(full, base) : [path.relative(base, full)];
  });
}

fs.rmSync(staging, { recursive: true, force: true });
const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
try {
  execFileSync(process.execPath, [tsc, "-p", path.join(root, "lib"), "--outDir", staging], {
    stdio: "inherit",
  });
} catch {
  fs.rmSync(staging, { recursive: true, force: true });
  console.error("build-lib: lib/ does not compile; fix the errors above (npm run typecheck).");
  process.exit(1);
}
fs.writeFileSync(
  path.join(staging, "package.json"),
  JSON.stringify({ name: "dlc7", private: true, type: "commonjs" }, null, 2) + "\n",
);
const fresh = new Set(listFiles(staging));
let changed = 0;
for (const rel of fresh) {
  const src = path.join(staging, rel);
  const dst = path.join(out, rel);
  const bytes = fs.readFileSync(src);
  if (fs.existsSync(dst) && fs.readFileSync(dst).equals(bytes)) continue;
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.renameSync(src, dst);
  changed++;
}
for (const rel of listFiles(out)) {
  if (!fresh.has(rel)) fs.rmSync(path.join(out, rel));
}
fs.rmSync(staging, { recursive: true, force: true });
const link = path.join(root, "node_modules", "dlc7");
const target = path.relative(path.dirname(link), out);
if (!fs.existsSync(link) || fs.readlinkSync(link) !== target) {
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(target, link, "dir");
}
// The stamp tools/setup.sh compares lib/ with (build/lib's own files keep their old times).
fs.writeFileSync(path.join(root, "build", "lib.stamp"), `${new Date().toISOString()}\n`);
console.log(
  `build-lib: lib/ compiled to ${path.relative(root, out)}/ (${changed} file(s) changed), linked as "dlc7"`,
);
