/**
 * Stack frames of cells with the cell's own line numbers.
 *
 * tslab compiles a cell twice (TypeScript to an ES module in a watch program, then to
 * CommonJS) and runs the result as "evalmachine.<anonymous>": a frame's line was a line of
 * the compiled code, which drops types, splits statements and adds exports (a throw on the
 * cell's line 6 read line 8). Here both compilations also make source maps, which are
 * composed; each cell runs under the file name "In [n]" (its execution count), and frames in
 * such files are rewritten to the cell's line and column: "at f (In [5]:6:5)".
 */
import vm from "node:vm";

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const INLINE_MAP = /\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/;
const TRANSPILE_MAP_COMMENT = "//# sourceMappingURL=custom.js.map";
/** tslab's wrapping of a cell's code (executor.js). */
const PREFIXES = ["(async function(exports, require) { ", "(function(exports, require) { "];
const SUFFIX = "\n})(__tslab__.exports, __tslab__.require)";
/** Cells whose maps are kept (a function defined in an old cell can still throw). */
const MAX_CELLS = 1000;

/** A position in a cell, 1-based. */
export interface Position {
  line: number;
  column: number;
}

/** A position of the final code (1-based) -> the cell's, or null when unmapped. */
export type CellMap = (line: number, column: number) => Position | null;

/** [generated column, source line, source column], 0-based. */
type Segment = [number, number, number];

interface SourceMap {
  mappings: string;
  sources?: unknown[];
}

interface TranspileOptions {
  fileName?: string;
  compilerOptions?: Record<string, unknown>;
}

interface TranspileOutput {
  outputText: string;
  sourceMapText?: string;
}

/** The part of the TypeScript module tslab compiles with that is changed here. */
export interface TypeScriptModule {
  createWatchCompilerHost(rootFiles: unknown, options: unknown, ...rest: unknown[]): unknown;
  transpileModule(input: string, options: TranspileOptions): TranspileOutput;
}

/**
 * Decodes a source map's `mappings`: for each generated line (0-based), its segments by
 * increasing column.
 */
function decodeMappings(mappings: string): Segment[][] {
  const lines: Segment[][] = [];
  let sourceLine = 0;
  let sourceColumn = 0;
  for (const text of mappings.split(";")) {
    const segments: Segment[] = [];
    let column = 0;
    for (const segment of text.split(",")) {
      if (segment === "") continue;
      const fields: number[] = [];
      let value = 0;
      let shift = 0;
      for (const ch of segment) {
        const digit = BASE64.indexOf(ch);
        if (digit < 0) throw new Error(`bad source map character ${JSON.stringify(ch)}`);
        value += (digit & 31) << shift;
        if (digit & 32) {
          shift += 5;
        } else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      column += fields[0]!;
      // [column, source index, line, column, name]: one source here, names unused.
      if (fields.length >= 4) {
        sourceLine += fields[2]!;
        sourceColumn += fields[3]!;
        segments.push([column, sourceLine, sourceColumn]);
      }
    }
    lines.push(segments);
  }
  return lines;
}

/** The source position of a generated one (0-based), or null: the segment at or before it. */
function lookup(lines: Segment[][], line: number, column: number): Position | null {
  for (let l = Math.min(line, lines.length - 1); l >= 0; l--) {
    const segments = lines[l] as Segment[];
    if (segments.length === 0) continue;
    if (l < line) {
      const last = segments[segments.length - 1] as Segment;
      return { line: last[1], column: last[2] };
    }
    let found = segments[0] as Segment;
    for (const s of segments) if (s[0] <= column) found = s;
    return { line: found[1], column: found[2] };
  }
  return null;
}

/**
 * The map from the final code to the cell, composing the second compilation's map (final ->
 * first output) with the first's (first output -> the cell, after the `linesBefore` lines
 * tslab puts before it).
 */
function composeMaps(first: SourceMap, second: SourceMap, linesBefore: number): CellMap {
  const a = decodeMappings(first.mappings);
  const b = decodeMappings(second.mappings);
  return (line, column) => {
    const mid = lookup(b, line - 1, column - 1);
    if (mid === null) return null;
    const src = lookup(a, mid.line, mid.column);
    if (src === null || src.line < linesBefore) return null;
    return { line: src.line - linesBefore + 1, column: src.column + 1 };
  };
}

/**
 * The TypeScript module tslab compiles with, wrapped so that both compilations make source
 * maps; `remember(output, map)` is told the map of every cell's final code. The output
 * tslab gets is the same as without maps.
 */
export function withSourceMaps<T extends TypeScriptModule>(
  ts: T,
  remember: (output: string, map: CellMap) => void,
): T {
  const wrapped = {} as T;
  const replaced = ["createWatchCompilerHost", "transpileModule"];
  // tslab reads the module through __importStar, which copies its own properties.
  for (const key of Object.keys(ts)) {
    if (replaced.includes(key)) continue;
    Object.defineProperty(wrapped, key, { enumerable: true, get: () => ts[key as keyof T] });
  }
  const createWatchCompilerHost: TypeScriptModule["createWatchCompilerHost"] = (
    rootFiles,
    options,
    ...rest
  ) => {
    if (!Array.isArray(rootFiles)) return ts.createWatchCompilerHost(rootFiles, options, ...rest);
    const withMaps = { ...(options as object), inlineSourceMap: true };
    return ts.createWatchCompilerHost(rootFiles, withMaps, ...rest);
  };
  const transpileModule: TypeScriptModule["transpileModule"] = (input, options) => {
    const inline = options?.fileName === "custom.js" ? INLINE_MAP.exec(input) : null;
    if (inline === null) return ts.transpileModule(input, options);
    const js = input.slice(0, inline.index);
    const out = ts.transpileModule(js, {
      ...options,
      compilerOptions: { ...options.compilerOptions, sourceMap: true },
    });
    const text = out.outputText;
    const outputText = text.endsWith(TRANSPILE_MAP_COMMENT)
      ? text.slice(0, -TRANSPILE_MAP_COMMENT.length)
      : text;
    try {
      const first = JSON.parse(Buffer.from(inline[1] as string, "base64").toString("utf8"));
      const source = String((first as SourceMap).sources?.[0] ?? "");
      // Only cells (tslab's __tslab__.ts), not the local modules they import.
      if (/__tslab__\.[jt]s$/.test(source) && out.sourceMapText !== undefined) {
        remember(outputText, composeMaps(first, JSON.parse(out.sourceMapText), 1));
      }
    } catch (e) {
      process.stderr.write(`kernel: no line numbers for this cell (${(e as Error).message})\n`);
    }
    return { ...out, outputText };
  };
  Object.defineProperty(wrapped, "createWatchCompilerHost", {
    enumerable: true,
    value: createWatchCompilerHost,
  });
  Object.defineProperty(wrapped, "transpileModule", { enumerable: true, value: transpileModule });
  return wrapped;
}

/** What the frames of a cell run under "In [n]" need. */
interface CellRun {
  map: CellMap;
  /** The length of tslab's wrapper on the code's first line. */
  prefix: number;
  /** Its last line calls tslab's wrapper: not the cell's code. */
  wrapperLine: number;
}

/**
 * Installs it all: `tsModulePath` is the TypeScript module tslab loads (to be replaced in
 * require's cache before tslab loads it), `cellCount()` the execution count of the cell
 * about to run.
 */
export function mapCellLines(tsModulePath: string, cellCount: () => number): void {
  const ts = require(tsModulePath) as TypeScriptModule;
  /** Final code -> its mapping, for the cells compiled and not yet run. */
  const compiled = new Map<string, CellMap>();
  /** "In [n]" -> how to map its frames. */
  const cells = new Map<string, CellRun>();
  const cached = require.cache[tsModulePath];
  if (cached === undefined) throw new Error(`${tsModulePath} is not in require's cache`);
  cached.exports = withSourceMaps(ts, (output, map) => {
    compiled.set(output, map);
    if (compiled.size > 20) compiled.delete(compiled.keys().next().value as string);
  });

  const run = vm.runInThisContext;
  vm.runInThisContext = function (code: string, options?: vm.RunningScriptOptions | string) {
    const prefix = typeof code === "string" ? PREFIXES.find((p) => code.startsWith(p)) : undefined;
    if (prefix === undefined || !code.endsWith(SUFFIX) || typeof options !== "object") {
      return run.call(this, code, options);
    }
    const filename = `In [${cellCount()}]`;
    const map = compiled.get(code.slice(prefix.length, -SUFFIX.length));
    if (map !== undefined) {
      cells.set(filename, { map, prefix: prefix.length, wrapperLine: code.split("\n").length });
      if (cells.size > MAX_CELLS) cells.delete(cells.keys().next().value as string);
    }
    return run.call(this, code, { ...options, filename });
  };

  /** The frame's text, in the cell's lines; null for tslab's wrapper. */
  const frame = (site: NodeJS.CallSite): string | null => {
    const text = String(site);
    const file = site.getFileName();
    const cell = file ? cells.get(file) : undefined;
    const line = site.getLineNumber();
    const column = site.getColumnNumber();
    if (cell === undefined || line === null || column === null) return text;
    if (line === cell.wrapperLine) return null;
    // The wrapper shares the code's first line.
    const at = cell.map(line, line === 1 ? column - cell.prefix : column);
    if (at === null) return text;
    return text.replace(`${file}:${line}:${column}`, `${file}:${at.line}:${at.column}`);
  };
  Error.prepareStackTrace = (error: Error, sites: NodeJS.CallSite[]): string => {
    let header: string;
    try {
      header = Error.prototype.toString.call(error);
    } catch {
      header = "Error";
    }
    const frames = sites.map(frame).filter((f): f is string => f !== null);
    return [header, ...frames.map((f) => `    at ${f}`)].join("\n");
  };
}
