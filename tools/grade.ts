/**
 * npm run grade -- FOLDER [--assignment NAME] [--out DIR] [--time-limit S]
 *                         [--cell-timeout S] [--memory-limit MIB] [--jobs N] [--no-sandbox]
 *
 * Grades every .ipynb under FOLDER (the class's submissions) against the autograders that
 * `npm run assign` wrote in build/assignments/autograder/. Each submission runs in a fresh
 * tslab kernel inside the sandbox (no network, none of the teacher's files, read-only files
 * but a temporary folder, limited memory and processes), with its public test cells restored
 * and the hidden ones inserted. Writes, per assignment,
 * DIR/NAME/grades.csv and grades.html (file, points per question, total, errors),
 * feedback/<student>.md, executed/<student>.ipynb and results.json.
 * A submission that cannot be read, crashes, loops or edits a test cell gets zero where
 * it must and a reason in the table; the grader itself goes on.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type Autograder, NotebookError, assignmentName, readNotebook } from "./assign-notebook";
import {
  DEFAULT_MEMORY_MIB,
  EXECUTOR_MIB,
  checkSetup,
  formatMiB,
  root,
  sandboxProblem,
} from "./assign-run";
import { UsageError, numberOption, parseCommandLine, runCli } from "./cli";
import { writeReport } from "./grade-report";
import { type SubmissionGrade, gradeNotebook, unreadableGrade } from "./grade-submission";

export interface GradeCliOptions {
  folder: string;
  assignment: string | null;
  autograders: string;
  out: string;
  timeLimit: number | null;
  cellTimeout: number | null;
  jobs: number;
  sandbox: boolean;
  /** Memory of each submission in MiB (default DEFAULT_MEMORY_MIB). */
  memoryMiB?: number;
  /** Print progress and the table (default true). */
  verbose?: boolean;
}

const USAGE = `usage: npm run grade -- FOLDER [--assignment NAME] [--out DIR] [--time-limit S]
                         [--cell-timeout S] [--memory-limit MIB] [--jobs N] [--no-sandbox]
                         [--autograders DIR]
Grades every .ipynb under FOLDER; writes DIR/<assignment>/grades.csv, grades.html,
feedback/ and executed/ (DIR defaults to build/assignments/grades).
Time limits default to those npm run assign measured (5 times the master's run, at least 60 s);
each submission may use ${DEFAULT_MEMORY_MIB} MiB of memory (${formatMiB(DEFAULT_MEMORY_MIB)}) unless --memory-limit says.`;

function parseOptions(argv: string[]): GradeCliOptions | "help" {
  const { values: v, positionals } = parseCommandLine({
    args: argv,
    allowPositionals: true,
    options: {
      assignment: { type: "string" },
      autograders: { type: "string" },
      out: { type: "string" },
      "time-limit": { type: "string" },
      "cell-timeout": { type: "string" },
      "memory-limit": { type: "string" },
      jobs: { type: "string" },
      "no-sandbox": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (v.help === true) return "help";
  // npm runs scripts from the project root; paths are the user's, relative to where they typed.
  const cwd = process.env.INIT_CWD ?? process.cwd();
  if (positionals.length === 0) throw new UsageError("which folder of submissions?");
  if (positionals.length > 1)
    throw new UsageError(`one folder of submissions at a time (got ${positionals.join(", ")})`);
  const folder = path.resolve(cwd, positionals[0] as string);
  if (!fs.statSync(folder, { throwIfNoEntry: false })?.isDirectory())
    throw new UsageError(`${folder} is not a folder`);
  return {
    folder,
    assignment: v.assignment !== undefined ? assignmentName(v.assignment) : null,
    autograders: path.resolve(
      cwd,
      v.autograders ?? path.join(root, "build/assignments/autograder"),
    ),
    out: path.resolve(cwd, v.out ?? path.join(root, "build/assignments/grades")),
    timeLimit: numberOption("time-limit", v["time-limit"], "seconds") ?? null,
    cellTimeout: numberOption("cell-timeout", v["cell-timeout"], "seconds") ?? null,
    jobs: numberOption("jobs", v.jobs, "submissions at a time", 1) ?? 1,
    sandbox: v["no-sandbox"] !== true,
    memoryMiB: numberOption("memory-limit", v["memory-limit"], "MiB", 2 * EXECUTOR_MIB),
  };
}

function notebooksUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) return e.name.startsWith(".") ? [] : notebooksUnder(full);
      return e.isFile() && e.name.endsWith(".ipynb") ? [full] : [];
    })
    .sort();
}

/** The autograders npm run assign wrote, by assignment name. */
export function loadAutograders(dir: string): Map<string, Autograder> {
  if (!fs.existsSync(dir))
    throw new Error(`grade: no autograders in ${dir}: run \`npm run assign\` first`);
  const all = new Map<string, Autograder>();
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith(".json"))) {
    const ag = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as Autograder;
    if (ag.format !== 1)
      throw new Error(`grade: ${f} is not an autograder of this version: re-run npm run assign`);
    all.set(ag.name, ag);
  }
  if (all.size === 0)
    throw new Error(`grade: no autograders in ${dir}: run \`npm run assign\` first`);
  return all;
}

/** Which assignment a submission answers: --assignment, its metadata, or the only one there is. */
function assignmentOf(
  nbMeta: Record<string, unknown>,
  options: GradeCliOptions,
  all: Map<string, Autograder>,
): Autograder | string {
  const fromMeta = (nbMeta.dlc7_assignment as { name?: unknown } | undefined)?.name;
  const name = options.assignment ?? (typeof fromMeta === "string" ? fromMeta : null);
  if (name !== null) {
    const ag = all.get(name);
    return ag ?? `no autograder for assignment ${name} (known: ${[...all.keys()].join(", ")})`;
  }
  if (all.size === 1) return [...all.values()][0] as Autograder;
  return "not a student version of an assignment (no dlc7_assignment metadata): pass --assignment NAME";
}

/** Runs `fn` over the items with at most `jobs` at a time, keeping the order of results. */
async function mapLimited<T, R>(
  items: readonly T[],
  jobs: number,
  fn: (x: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
  return results;
}

export async function grade(options: GradeCliOptions): Promise<Map<string, SubmissionGrade[]>> {
  const log = options.verbose === false ? () => undefined : (s: string) => console.log(s);
  checkSetup();
  const all = loadAutograders(options.autograders);
  if (options.sandbox) {
    const problem = sandboxProblem();
    if (problem !== null) throw new Error(`grade: ${problem}`);
  } else log("grade: WARNING: --no-sandbox: submissions run with your network and files");
  const files = notebooksUnder(options.folder);
  if (files.length === 0) throw new Error(`grade: no .ipynb file under ${options.folder}`);
  const memoryMiB = options.memoryMiB ?? DEFAULT_MEMORY_MIB;
  // Kernels side by side share the cores instead of each starting one thread per core.
  const threads = Math.max(1, Math.floor(os.availableParallelism() / options.jobs));
  const threadNote = process.env.DLC_THREADS ?? `${threads} (DLC_THREADS sets it)`;
  log(
    `grade: ${files.length} submission(s) in ${path.relative(process.cwd(), options.folder) || "."}, ` +
      `${options.jobs} at a time, each ${options.sandbox ? "in the sandbox, " : ""}with at most ${formatMiB(memoryMiB)} of memory and CPU threads ${threadNote}`,
  );

  const grades = await mapLimited(files, options.jobs, async (file): Promise<SubmissionGrade> => {
    const rel = path.relative(options.folder, file);
    const info = { student: rel.replace(/\.ipynb$/, ""), file: rel };
    let nb;
    try {
      nb = readNotebook(file);
    } catch (e) {
      if (!(e instanceof NotebookError)) throw e;
      const ag =
        options.assignment !== null
          ? (all.get(options.assignment) ?? null)
          : all.size === 1
            ? ([...all.values()][0] ?? null)
            : null;
      return unreadableGrade(ag, info, e.message.replace(`${file}: `, ""));
    }
    const ag = assignmentOf(nb.metadata, options, all);
    if (typeof ag === "string") return unreadableGrade(null, info, ag);
    const g = await gradeNotebook(ag, nb, info, {
      sandbox: options.sandbox,
      memoryMiB,
      threads,
      ...(options.timeLimit !== null ? { timeLimitSeconds: options.timeLimit } : {}),
      ...(options.cellTimeout !== null ? { cellTimeoutSeconds: options.cellTimeout } : {}),
    });
    log(
      `  ${rel}: ${g.total} / ${g.max} (${g.seconds.toFixed(1)} s)${g.errors.length > 0 ? ` — ${g.errors.join("; ")}` : ""}`,
    );
    return g;
  });

  const byAssignment = new Map<string, SubmissionGrade[]>();
  for (const g of grades)
    byAssignment.set(g.assignment, [...(byAssignment.get(g.assignment) ?? []), g]);
  // Files that could not tell their assignment join the table of the folder's only one.
  const known = [...byAssignment.keys()].filter((k) => all.has(k));
  const lost = byAssignment.get("?");
  if (lost !== undefined && known.length === 1) {
    const name = known[0] as string;
    const ag = all.get(name) as Autograder;
    byAssignment.delete("?");
    byAssignment.set(name, [
      ...(byAssignment.get(name) ?? []),
      ...lost.map((g) => unreadableGrade(ag, g, g.errors.join("; "))),
    ]);
  }
  for (const [name, gs] of byAssignment) {
    const ag = all.get(name);
    if (ag === undefined) {
      log(`grade: ${gs.length} file(s) matched no assignment:`);
      for (const g of gs) log(`  ${g.file}: ${g.errors.join("; ")}`);
      continue;
    }
    const dir = path.join(options.out, name);
    const { csv, html, text } = writeReport(dir, ag, gs);
    log(`\n${name}\n${text}`);
    log(
      `grade: ${path.relative(process.cwd(), csv)}, ${path.relative(process.cwd(), html)} (open it in a browser), feedback/ and executed/ beside them`,
    );
  }
  return byAssignment;
}

if (require.main === module)
  runCli("grade", USAGE, async () => {
    const options = parseOptions(process.argv.slice(2));
    if (options === "help") console.log(USAGE);
    else await grade(options);
    return 0;
  });
