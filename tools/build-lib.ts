/**
 * Compiles lib/ to build/lib/ and links it as the package "dlc7", so that notebooks
 * import it as `import { ... } from "dlc7/data"` wherever the kernel runs
 * (tslab compiles cells with rootDir = the notebook's folder, so `../lib` cannot be
 * imported from notebooks/ directly).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.resolve(__dirname, "..");
const out = path.join(root, "build", "lib");

fs.rmSync(out, { recursive: true, force: true });
const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
try {
  execFileSync(process.execPath, [tsc, "-p", path.join(root, "lib")], { stdio: "inherit" });
} catch {
  console.error("build-lib: lib/ does not compile; fix the errors above (npm run typecheck).");
  process.exit(1);
}
fs.writeFileSync(
  path.join(out, "package.json"),
  JSON.stringify({ name: "dlc7", private: true, type: "commonjs" }, null, 2) + "\n",
);
const link = path.join(root, "node_modules", "dlc7");
fs.rmSync(link, { recursive: true, force: true });
fs.symlinkSync(path.relative(path.dirname(link), out), link, "dir");
console.log(`build-lib: lib/ compiled to ${path.relative(root, out)}/ and linked as "dlc7"`);
