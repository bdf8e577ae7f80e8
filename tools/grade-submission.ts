/**
 * Grading one notebook against an assignment's autograder: the public test cells are
 * checked for edits and restored, the hidden ones inserted where they were in the master,
 * the notebook runs headless (tools/assign-run.ts), and each check the master ran is looked
 * up in the output of its test cell. A question scores its points times the share of its
 * checks that passed, and zero when one of its test cells was edited or deleted.
 * `npm run assign` grades the untouched student version the same way to verify it.
 */
import {
  type Autograder,
  type AutograderTestCell,
  type Notebook,
  type NotebookCell,
  anchorId,
  normalizedSource,
  sourceOf,
} from "./assign-notebook";
import {
  DEFAULT_MEMORY_MIB,
  type RunEnd,
  type RunOptions,
  type RunResult,
  executedNotebook,
  formatMiB,
  runNotebook,
} from "./assign-run";

export interface TestResult {
  question: string;
  /** The check's name. */
  test: string;
  /** The test cell it belongs to: q1-public-1, q1-hidden-1, ... */
  cell: string;
  visibility: "public" | "hidden";
  passed: boolean;
  message: string;
}

export interface QuestionGrade {
  id: string;
  title: string;
  max: number;
  points: number;
  passed: number;
  total: number;
  /** Why points were lost beyond failed checks (an edited test cell). */
  notes: string[];
}

export interface SubmissionGrade {
  student: string;
  file: string;
  assignment: string;
  questions: QuestionGrade[];
  total: number;
  max: number;
  /** Problems running the notebook, one short line each. */
  errors: string[];
  warnings: string[];
  tests: TestResult[];
  /** The notebook as graded, with what each cell printed (null if it could not be read). */
  executed: Notebook | null;
  seconds: number;
  end: RunEnd | "unreadable";
}

export interface Prepared {
  notebook: Notebook;
  /** Cell index in `notebook` → the autograder's test cell it runs. */
  testCells: Map<number, AutograderTestCell>;
  /** Cell index in `notebook` → its index in the submission (absent for inserted cells). */
  origins: Map<number, number>;
  /** Question → why its test cells do not count (edited, deleted). */
  edited: Map<string, string[]>;
  warnings: string[];
}

/** What an allocation past the memory limit throws (V8, tfjs's wasm, the native addon, libc). */
const OUT_OF_MEMORY =
  /Array buffer allocation failed|out of memory|Cannot allocate memory|std::bad_alloc|Cannot enlarge memory/i;

/**
 * The first line that says what went wrong in a failed cell's error output, with what it
 * means for a submission: out of memory (with the limit), a file the sandbox does not have.
 */
export function errorSummary(error: string, memoryMiB: number = DEFAULT_MEMORY_MIB): string {
  const lines = error
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const compile = lines.filter((l) => /^\d+:\d+ - /.test(l));
  if (compile.length > 0) {
    const first = (compile[0] as string).replace(/^\d+:\d+ - /, "").replace(/\.$/, "");
    return `does not compile: ${first}${compile.length > 1 ? ` (and ${compile.length - 1} more error(s))` : ""}`;
  }
  const thrown = lines.find((l) => /^(\w*Error|Uncaught)\b/.test(l) || /^\w+: /.test(l));
  let line = thrown ?? lines.filter((l) => !l.startsWith("at ")).pop() ?? "failed";
  if (OUT_OF_MEMORY.test(line))
    line = `out of memory: a submission may use ${formatMiB(memoryMiB)} (${line})`;
  const missing = /ENOENT: no such file or directory, \w+ '([^']+)'/.exec(line)?.[1];
  if (missing !== undefined)
    line = `${missing} is not available: a submission sees its own folder, the library and the data only (${line})`;
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** The submission as it will run: tests restored and inserted, outputs cleared. */
export function prepareSubmission(ag: Autograder, submission: Notebook): Prepared {
  const warnings: string[] = [];
  const meta = submission.metadata.dlc7_assignment as
    { name?: string; version?: string } | undefined;
  if (meta?.version !== undefined && meta.version !== ag.version)
    warnings.push(
      `made from another student version of ${ag.name} (tests ${meta.version}, now ${ag.version}): graded with the current tests`,
    );
  const hiddenIds = new Set(ag.tests.filter((t) => t.visibility === "hidden").map((t) => t.id));
  const entries: { cell: NotebookCell; test: AutograderTestCell | null; origin?: number }[] = [];
  for (const [origin, cell] of submission.cells.entries()) {
    if (hiddenIds.has(anchorId(cell))) continue; // a copy of a hidden test does not run twice
    const clean: NotebookCell = { ...cell, metadata: { ...cell.metadata } };
    if (cell.cell_type === "code") {
      clean.outputs = [];
      clean.execution_count = null;
    }
    entries.push({ cell: clean, test: null, origin });
  }
  const edited = new Map<string, string[]>();
  const note = (q: string, why: string): void => {
    edited.set(q, [...(edited.get(q) ?? []), why]);
  };
  for (const t of ag.tests.filter((x) => x.visibility === "public")) {
    const found = entries.filter((e) => anchorId(e.cell) === t.id && e.cell.cell_type === "code");
    if (found.length === 0) {
      note(t.question, `test cell ${t.id} was deleted`);
      continue;
    }
    const original = normalizedSource(t.source);
    if (!found.some((e) => normalizedSource(sourceOf(e.cell)) === original))
      note(t.question, `test cell ${t.id} was edited`);
    for (const e of found) {
      e.cell.source = t.source;
      e.test = t;
    }
  }
  for (const t of ag.tests.filter((x) => x.visibility === "hidden")) {
    let at = entries.length;
    for (const a of t.after) {
      const i = entries.findIndex((e) => e.test?.visibility !== "hidden" && anchorId(e.cell) === a);
      if (i >= 0) {
        at = i + 1;
        while (entries[at]?.test?.visibility === "hidden") at++;
        break;
      }
    }
    entries.splice(at, 0, {
      cell: {
        cell_type: "code",
        id: t.id,
        metadata: { dlc7: { test: "hidden", question: t.question, id: t.id } },
        source: t.source,
        outputs: [],
        execution_count: null,
      },
      test: t,
    });
  }
  const testCells = new Map<number, AutograderTestCell>();
  const origins = new Map<number, number>();
  entries.forEach((e, i) => {
    if (e.test !== null) testCells.set(i, e.test);
    if (e.origin !== undefined) origins.set(i, e.origin);
  });
  return {
    notebook: { ...submission, cells: entries.map((e) => e.cell) },
    testCells,
    origins,
    edited,
    warnings,
  };
}

/** A cell as the student knows it: "q2's cell", or its position in the submitted notebook. */
export function describeCell(prepared: Prepared, i: number): string {
  const test = prepared.testCells.get(i);
  if (test !== undefined) return `test cell ${test.id}`;
  const meta = prepared.notebook.cells[i]?.metadata.dlc7 as { question?: unknown } | undefined;
  if (typeof meta?.question === "string") return `${meta.question}'s cell`;
  const origin = prepared.origins.get(i);
  return origin === undefined ? `cell ${i}` : `cell ${origin + 1}`;
}

/** Why a check left no record: what happened to its cell. */
function missingReason(
  run: RunResult,
  cells: number[],
  timeLimit: number,
  memoryMiB: number,
): string {
  if (cells.length === 0) return "its test cell is missing";
  for (const i of cells) {
    const r = run.cells.get(i);
    if (r === undefined) continue;
    if (r.status === "timeout") return `its test cell ran too long and was interrupted`;
    if (r.status === "error")
      return `its test cell failed: ${errorSummary(r.error || r.text, memoryMiB)}`;
  }
  if (cells.every((i) => !run.cells.has(i))) {
    if (run.end === "time-limit")
      return run.running !== null && cells.includes(run.running)
        ? `the time limit (${timeLimit} s) was reached in its test cell`
        : `not run: the time limit (${timeLimit} s) was reached before its test cell`;
    if (run.end === "kernel-died")
      return run.outOfMemory
        ? "not run: the kernel ran out of memory before its test cell"
        : "not run: the kernel died before its test cell";
    return "not run: the notebook did not start (see errors)";
  }
  return "did not run: its test cell ended before reaching it";
}

/** Scores a run of a prepared submission. */
export function scoreRun(
  ag: Autograder,
  prepared: Prepared,
  run: RunResult,
  timeLimit: number,
  memoryMiB: number = DEFAULT_MEMORY_MIB,
): { questions: QuestionGrade[]; tests: TestResult[]; errors: string[] } {
  const tests: TestResult[] = [];
  for (const t of ag.tests) {
    const cells = [...prepared.testCells].filter(([, c]) => c.id === t.id).map(([i]) => i);
    for (const name of t.checks) {
      const records = cells.flatMap((i) =>
        (run.cells.get(i)?.records ?? []).filter(
          (r) => r.question === t.question && r.test === name,
        ),
      );
      const failed = records.find((r) => !r.passed);
      tests.push({
        question: t.question,
        test: name,
        cell: t.id,
        visibility: t.visibility,
        passed: records.length > 0 && failed === undefined,
        message:
          records.length === 0
            ? missingReason(run, cells, timeLimit, memoryMiB)
            : (failed?.message ?? "passed"),
      });
    }
  }
  const questions = ag.questions.map((q): QuestionGrade => {
    const mine = tests.filter((t) => t.question === q.id);
    const passed = mine.filter((t) => t.passed).length;
    const notes = prepared.edited.get(q.id) ?? [];
    const points =
      notes.length > 0 || mine.length === 0 ? 0 : round2((q.points * passed) / mine.length);
    return { id: q.id, title: q.title, max: q.points, points, passed, total: mine.length, notes };
  });

  const errors: string[] = [];
  for (const [q, notes] of prepared.edited) errors.push(`${q}: ${notes.join(", ")} (0 points)`);
  const inCell = run.running !== null ? ` in ${describeCell(prepared, run.running)}` : "";
  if (run.end === "time-limit")
    errors.push(`time limit (${timeLimit} s) reached${inCell}: later cells did not run`);
  if (run.end === "kernel-died" && run.outOfMemory)
    errors.push(
      `out of memory${inCell}: the kernel died past the limit of ${formatMiB(memoryMiB)} per submission; later cells did not run`,
    );
  else if (run.end === "kernel-died") {
    const last = run.log.split("\n").pop() ?? "";
    errors.push(
      `the kernel died${inCell}, twice (out of memory, or process.exit): later cells did not run` +
        (last === "" ? "" : ` (${last.slice(0, 200)})`),
    );
  }
  if (run.end === "failed")
    errors.push(`the notebook could not be run: ${run.log.split("\n").pop() ?? ""}`);
  for (const [i, r] of [...run.cells].sort((a, b) => a[0] - b[0])) {
    if (r.status === "ok" || prepared.testCells.has(i)) continue;
    errors.push(
      r.status === "timeout"
        ? `${describeCell(prepared, i)} ran too long and was interrupted`
        : `${describeCell(prepared, i)}: ${errorSummary(r.error || r.text, memoryMiB)}`,
    );
  }
  return { questions, tests, errors };
}

export interface GradeOptions extends Partial<RunOptions> {
  sandbox: boolean;
}

/** Grades one submission; never throws for anything the notebook does. */
export async function gradeNotebook(
  ag: Autograder,
  submission: Notebook,
  info: { student: string; file: string },
  options: GradeOptions,
): Promise<SubmissionGrade> {
  const timeLimit = options.timeLimitSeconds ?? ag.timeLimitSeconds;
  const prepared = prepareSubmission(ag, submission);
  const memoryMiB = options.memoryMiB ?? DEFAULT_MEMORY_MIB;
  const run = await runNotebook(prepared.notebook, {
    sandbox: options.sandbox,
    timeLimitSeconds: timeLimit,
    cellTimeoutSeconds: Math.min(options.cellTimeoutSeconds ?? ag.cellTimeoutSeconds, timeLimit),
    memoryMiB,
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
  });
  const { questions, tests, errors } = scoreRun(ag, prepared, run, timeLimit, memoryMiB);
  return {
    ...info,
    assignment: ag.name,
    questions,
    total: round2(questions.reduce((s, q) => s + q.points, 0)),
    max: ag.questions.reduce((s, q) => s + q.points, 0),
    errors,
    warnings: prepared.warnings,
    tests,
    executed: executedNotebook(prepared.notebook, run),
    seconds: run.seconds,
    end: run.end,
  };
}

/** The grade of a file that is not a gradable notebook: zero everywhere, and why. */
export function unreadableGrade(
  ag: Autograder | null,
  info: { student: string; file: string },
  why: string,
): SubmissionGrade {
  const questions = (ag?.questions ?? []).map((q) => ({
    id: q.id,
    title: q.title,
    max: q.points,
    points: 0,
    passed: 0,
    total: 0,
    notes: [],
  }));
  return {
    ...info,
    assignment: ag?.name ?? "?",
    questions,
    total: 0,
    max: questions.reduce((s, q) => s + q.max, 0),
    errors: [why],
    warnings: [],
    tests: [],
    executed: null,
    seconds: 0,
    end: "unreadable",
  };
}
