/**
 * npm run assign [-- NAME... --out DIR]: for each master notebook in assignments/,
 *   1. runs it headless: every cell must run and every check pass;
 *   2. writes nothing yet, builds the student version (solutions stubbed, hidden tests out,
 *      no outputs) and the autograder (the test cells, the checks each ran, time limits);
 *   3. grades the untouched student version as `npm run grade` would: each question whose
 *      solution was removed must fail every check, every other question pass them all;
 *   4. only then writes build/assignments/student/NAME.ipynb and
 *      build/assignments/autograder/NAME.json.
 * A master that fails a step is named with the cell and check at fault; its old outputs
 * are removed, the other masters still build, and the command exits 1.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../lib/atomic-write";
import {
  type Autograder,
  type AutograderTestCell,
  NotebookError,
  assignmentName,
  buildStudent,
  notebookJson,
  parseMaster,
  readNotebook,
  testsVersion,
} from "./assign-notebook";
import { checkSetup, root, runNotebook } from "./assign-run";
import { UsageError, numberOption, parseCommandLine, runCli } from "./cli";
import { errorSummary, gradeNotebook } from "./grade-submission";

export interface AssignOptions {
  out: string;
  /** Time limit for the master's own run. */
  masterTimeLimitSeconds: number;
}

export interface AssignResult {
  name: string;
  ok: boolean;
  problems: string[];
  questions: number;
  points: number;
  publicChecks: number;
  hiddenChecks: number;
  masterSeconds: number;
  studentSeconds: number;
  studentFile: string | null;
  autograderFile: string | null;
}

/**
 * Student runs get this many times the master's time (at least the floor), and each cell
 * this many times the master's slowest cell: a looping cell is interrupted early enough
 * for the next questions to run.
 */
const TIME_FACTOR = 5;
const TIME_FLOOR_SECONDS = 60;
const CELL_FLOOR_SECONDS = 20;

function outputsOf(out: string, name: string): { student: string; autograder: string } {
  return {
    student: path.join(out, "student", `${name}.ipynb`),
    autograder: path.join(out, "autograder", `${name}.json`),
  };
}

/** Builds and verifies one master notebook; writes its outputs only when all is well. */
export async function assignMaster(file: string, options: AssignOptions): Promise<AssignResult> {
  const name = assignmentName(file);
  const files = outputsOf(options.out, name);
  const result: AssignResult = {
    name,
    ok: false,
    problems: [],
    questions: 0,
    points: 0,
    publicChecks: 0,
    hiddenChecks: 0,
    masterSeconds: 0,
    studentSeconds: 0,
    studentFile: null,
    autograderFile: null,
  };
  const fail = (problems: string[]): AssignResult => {
    for (const f of Object.values(files)) fs.rmSync(f, { force: true });
    result.problems.push(...problems);
    return result;
  };

  let master;
  try {
    master = parseMaster(readNotebook(file), name);
  } catch (e) {
    if (e instanceof NotebookError) return fail([e.message]);
    throw e;
  }
  result.questions = master.questions.length;
  result.points = master.questions.reduce((s, q) => s + q.points, 0);

  // 1. The master passes all its checks.
  const run = await runNotebook(master.notebook, {
    sandbox: false,
    timeLimitSeconds: options.masterTimeLimitSeconds,
    cellTimeoutSeconds: options.masterTimeLimitSeconds,
  });
  result.masterSeconds = run.seconds;
  const problems: string[] = [];
  if (run.end !== "completed")
    problems.push(
      `master: ${run.end === "time-limit" ? `time limit (${options.masterTimeLimitSeconds} s) reached` : run.end}` +
        (run.running !== null ? ` in cell ${run.running}` : "") +
        (run.log === "" ? "" : `\n${run.log}`),
    );
  const checks = new Map<number, string[]>();
  for (const [i, cell] of run.cells) {
    const test = master.tests.find((t) => t.cell === i);
    if (cell.status !== "ok")
      problems.push(
        `master, cell ${i}: ${cell.status === "timeout" ? "timed out" : errorSummary(cell.error || cell.text)}`,
      );
    if (test === undefined) {
      if (cell.records.length > 0)
        problems.push(
          `master, cell ${i}: calls check() but is not a test cell (start it with // TEST q1 public)`,
        );
      continue;
    }
    const names: string[] = [];
    for (const r of cell.records) {
      if (r.question !== test.question)
        problems.push(`master, cell ${i}: a ${test.question} test cell checks ${r.question}`);
      else if (!r.passed)
        problems.push(`master, cell ${i}: ${r.question} · ${r.test} fails: ${r.message}`);
      names.push(r.test);
    }
    if (names.length === 0) problems.push(`master, cell ${i}: test cell runs no check()`);
    checks.set(i, names);
  }
  for (const q of master.questions) {
    const seen = new Set<string>();
    for (const t of master.tests.filter((x) => x.question === q.id))
      for (const n of checks.get(t.cell) ?? []) {
        if (seen.has(n))
          problems.push(
            `master: two checks of ${q.id} are named "${n}": give each a distinct name`,
          );
        seen.add(n);
      }
  }
  if (problems.length > 0) return fail(problems);

  // 2. Student version and autograder.
  const student = buildStudent(master);
  const stubbed = new Set(master.solutions.map((s) => s.question));
  const tests: AutograderTestCell[] = master.tests.map((t) => ({
    id: t.id,
    question: t.question,
    visibility: t.visibility,
    source: t.source,
    after: student.hidden.find((h) => h.id === t.id)?.after ?? [],
    checks: checks.get(t.cell) ?? [],
  }));
  const timeLimit = Math.max(TIME_FLOOR_SECONDS, Math.ceil(TIME_FACTOR * run.seconds));
  const slowestCell = Math.max(0, ...[...run.cells.values()].map((c) => c.seconds));
  const cellTimeout = Math.min(
    timeLimit,
    Math.max(CELL_FLOOR_SECONDS, Math.ceil(TIME_FACTOR * slowestCell)),
  );
  const autograder: Autograder = {
    format: 1,
    name,
    version: testsVersion(tests),
    questions: master.questions.map((q) => ({
      id: q.id,
      title: q.title,
      points: q.points,
      stubbed: stubbed.has(q.id),
    })),
    tests,
    timeLimitSeconds: timeLimit,
    cellTimeoutSeconds: cellTimeout,
    masterSeconds: Math.round(run.seconds * 10) / 10,
  };
  student.notebook.metadata.dlc7_assignment = { name, version: autograder.version };
  result.publicChecks = tests
    .filter((t) => t.visibility === "public")
    .reduce((s, t) => s + t.checks.length, 0);
  result.hiddenChecks = tests
    .filter((t) => t.visibility === "hidden")
    .reduce((s, t) => s + t.checks.length, 0);

  // 3. The student version fails exactly where a solution was removed.
  const graded = await gradeNotebook(
    autograder,
    student.notebook,
    { student: "student version", file: files.student },
    { sandbox: false },
  );
  result.studentSeconds = graded.seconds;
  for (const t of graded.tests) {
    if (stubbed.has(t.question) && t.passed)
      problems.push(
        `student version: ${t.question} · ${t.test} passes without the solution (a solution left in the student version, or a check that cannot fail)`,
      );
    if (!stubbed.has(t.question) && !t.passed)
      problems.push(
        `student version: ${t.question} has no solution to remove, yet ${t.test} fails: ${t.message}`,
      );
  }
  if (graded.end !== "completed") problems.push(`student version: ${graded.errors.join("; ")}`);
  if (problems.length > 0) return fail(problems);

  // 4. Write.
  writeFileAtomic(files.student, notebookJson(student.notebook));
  writeFileAtomic(files.autograder, JSON.stringify(autograder, null, 2) + "\n");
  result.studentFile = files.student;
  result.autograderFile = files.autograder;
  result.ok = true;
  return result;
}

const USAGE =
  "usage: npm run assign [-- NAME... --out DIR --time-limit S]\n" +
  "builds build/assignments/student/NAME.ipynb and build/assignments/autograder/NAME.json\n" +
  "from each master notebook assignments/NAME.ipynb (all of them by default)";

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      out: { type: "string" },
      "time-limit": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  const out = path.resolve(
    process.env.INIT_CWD ?? process.cwd(),
    values.out ?? path.join(root, "build/assignments"),
  );
  const timeLimit = numberOption("time-limit", values["time-limit"], "seconds") ?? 600;
  const names = positionals.map(assignmentName);
  checkSetup();
  const dir = path.join(root, "assignments");
  const all = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".ipynb"))
    .map(assignmentName)
    .sort();
  const unknown = names.filter((n) => !all.includes(n));
  if (unknown.length > 0)
    throw new UsageError(
      `no master notebook ${unknown.map((n) => `assignments/${n}.ipynb`).join(", ")}`,
    );
  const chosen = names.length > 0 ? names : all;
  let failed = 0;
  for (const name of chosen) {
    console.log(`assign: ${name}`);
    const r = await assignMaster(path.join(dir, `${name}.ipynb`), {
      out,
      masterTimeLimitSeconds: timeLimit,
    });
    if (r.ok) {
      console.log(
        `  ok: ${r.questions} questions, ${r.points} points, ${r.publicChecks} public + ${r.hiddenChecks} hidden checks; ` +
          `master ${r.masterSeconds.toFixed(1)} s, student version ${r.studentSeconds.toFixed(1)} s\n` +
          `  ${path.relative(process.cwd(), r.studentFile ?? "")}, ${path.relative(process.cwd(), r.autograderFile ?? "")}`,
      );
    } else {
      failed++;
      console.log(`  FAILED (nothing written):\n${r.problems.map((p) => `    ${p}`).join("\n")}`);
    }
  }
  console.log(
    `assign: ${chosen.length - failed} of ${chosen.length} assignment(s) built in ${path.relative(process.cwd(), out) || "."}/`,
  );
  return failed > 0 ? 1 : 0;
}

if (require.main === module) runCli("assign", USAGE, main);
