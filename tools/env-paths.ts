/**
 * Relative paths in the environment (MNIST_DIR=../data/mnist) mean "from the folder the
 * command was started in". npm runs scripts from the package root and our scripts cd there,
 * and kernels run in notebooks/, so each would read them differently: they are made
 * absolute once, before anything else reads them.
 *
 *   eval "$(npx tsx tools/env-paths.ts "$START_DIR")"   # tools/setup.sh: prints export lines
 */
import * as path from "node:path";
import { UsageError, parseCommandLine, runCli } from "./cli";

/** Variables holding a path (DLC_PYTHON only when it names a file, not a command on PATH). */
export const PATH_VARIABLES: readonly string[] = [
  "MNIST_DIR",
  "FASHION_MNIST_DIR",
  "DLC_CHECKPOINT_DIR",
  "DLC_FIGURES_DIR",
  "DLC_DATA_CACHE",
  "DLC_PYTHON",
];

/**
 * The folder the user started the command in: npm passes it as INIT_CWD (and runs the
 * script from the package root); a direct run has it as the current directory.
 */
export function startDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const init = env.INIT_CWD;
  return init !== undefined && path.isAbsolute(init) ? init : process.cwd();
}

/** The path variables of `env` that are relative, made absolute against `from`. */
export function absolutePathVariables(
  env: NodeJS.ProcessEnv,
  from: string,
): Record<string, string> {
  const changed: Record<string, string> = {};
  for (const name of PATH_VARIABLES) {
    const value = env[name];
    if (value === undefined || value === "" || path.isAbsolute(value)) continue;
    if (name === "DLC_PYTHON" && !value.includes("/")) continue;
    changed[name] = path.resolve(from, value);
  }
  return changed;
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

if (require.main === module)
  runCli("env-paths", "usage: env-paths [start folder]", () => {
    const args = { args: process.argv.slice(2), allowPositionals: true };
    const [from = startDirectory(), extra] = parseCommandLine(args).positionals;
    if (extra !== undefined) throw new UsageError("give one start folder at most");
    for (const [name, value] of Object.entries(absolutePathVariables(process.env, from)))
      console.log(`export ${name}=${shellQuote(value)}`);
    return 0;
  });
