/**
 * The command lines of tools/: node:util's parseArgs, strict, whose errors become one line
 * and the usage (exit status 2) instead of Node's message and stack trace.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** A bad command line: said in one line with the usage, exit status 2. */
export class UsageError extends Error {}

/** parseArgs(config), strict, and no option given an empty value; else a UsageError. */
export function parseCommandLine<T extends ParseArgsConfig>(
  config: T,
): ReturnType<typeof parseArgs<T>> {
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs<T>({ strict: true, ...config });
  } catch (e) {
    const err = e as Error & { code?: string };
    const option = /'(-[^' ]+)/.exec(err.message)?.[1];
    if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION")
      throw new UsageError(`unknown option ${option}`);
    if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE")
      throw new UsageError(`${option} needs a value`);
    if (err.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL")
      throw new UsageError(`unexpected argument ${/'([^']*)'/.exec(err.message)?.[1] ?? ""}`);
    throw new UsageError(err.message);
  }
  for (const [name, value] of Object.entries(parsed.values))
    if (typeof value === "string" && value.trim() === "")
      throw new UsageError(`--${name} needs a value`);
  return parsed;
}

/**
 * The value of option `--flag`, a number of `unit`: whole and at least `min`, or without `min`
 * any number above 0; undefined when the option is absent.
 */
export function numberOption(
  flag: string,
  value: string | undefined,
  unit: string,
  min?: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (min === undefined ? n > 0 && n < Infinity : /^\d+$/.test(value) && n >= min) return n;
  const what =
    min === undefined
      ? `a number of ${unit} above 0`
      : `a whole number of ${unit}, at least ${min}`;
  throw new UsageError(`--${flag} ${value}: give ${what}`);
}

/**
 * Runs a command's `main`, whose result is the exit status. A UsageError is printed as
 * `name: message` and the usage (exit status 2); another error as its message (exit status 1).
 */
export function runCli(name: string, usage: string, main: () => number | Promise<number>): void {
  Promise.resolve()
    .then(main)
    .then(
      (code) => {
        process.exitCode = code;
      },
      (e: unknown) => {
        const usageError = e instanceof UsageError;
        console.error(
          usageError ? `${name}: ${e.message}\n${usage}` : String((e as Error)?.message ?? e),
        );
        process.exitCode = usageError ? 2 : 1;
      },
    );
}
