/**
 * The markers of master notebooks (tools/assign-notebook.ts) and the grader's bookkeeping
 * (tools/grade-submission.ts) without a kernel: stubs and placeholders, hidden tests taken
 * out and put back in place, edited or deleted test cells, points from check records.
 */
import { strict as assert } from "node:assert";

import {
  type Autograder,
  type Notebook,
  type NotebookCell,
  NotebookError,
  buildStudent,
  parseMaster,
  sourceOf,
  stubLines,
} from "../tools/assign-notebook";
import type { CellRun, RunResult } from "../tools/assign-run";
import { feedbackHtml, gradeTableText } from "../tools/grade-report";
import {
  type SubmissionGrade,
  errorSummary,
  prepareSubmission,
  scoreRun,
} from "../tools/grade-submission";

const code = (source: string, metadata: Record<string, unknown> = {}): NotebookCell => ({
  cell_type: "code",
  metadata,
  source,
  outputs: [{ output_type: "stream", name: "stdout", text: "old output" }],
  execution_count: 3,
});
const md = (source: string): NotebookCell => ({ cell_type: "markdown", metadata: {}, source });
const notebook = (cells: NotebookCell[]): Notebook => ({
  cells,
  metadata: { kernelspec: { name: "tslab" } },
  nbformat: 4,
  nbformat_minor: 4,
});

const MASTER = notebook([
  md("# A small assignment"),
  code('import { check, expectEqual } from "dlc7/assignments";'),
  code(
    [
      "// QUESTION q1: double, 2 points",
      "function double(x: number): number {",
      "  // BEGIN SOLUTION",
      "  return 2 * x;",
      "  // END SOLUTION",
      "}",
    ].join("\n"),
  ),
  code('// TEST q1 public\ncheck("q1", "2", () => expectEqual(double(1), 2));'),
  code('// TEST q1 hidden\ncheck("q1", "-2", () => expectEqual(double(-1), -2));'),
  code(
    [
      "// QUESTION q2: a list, 3 points",
      "const list: number[] = [",
      "  // BEGIN SOLUTION",
      "  1, 2, 3,",
      "  // END SOLUTION",
      "  // BEGIN PLACEHOLDER",
      "  // /* your numbers */",
      "  // END PLACEHOLDER",
      "];",
    ].join("\n"),
  ),
  code('// TEST q2 public\ncheck("q2", "length", () => expectEqual(list.length, 3));'),
  code('// TEST q2 hidden\ncheck("q2", "sum", () => expectEqual(list[0] + list[2], 4));'),
  code("", { dlc7: { test: "hidden", question: "q2" } }),
]);
// The last cell: a hidden test marked by metadata instead of a first-line comment.
(MASTER.cells[8] as NotebookCell).source = 'check("q2", "first", () => expectEqual(list[0], 1));';

function autograderOf(nb: Notebook): Autograder {
  const master = parseMaster(nb, "small");
  const student = buildStudent(master);
  const checks: Record<string, string[]> = {
    "q1-public-1": ["2"],
    "q1-hidden-1": ["-2"],
    "q2-public-1": ["length"],
    "q2-hidden-1": ["sum"],
    "q2-hidden-2": ["first"],
  };
  return {
    format: 1,
    name: "small",
    version: "v",
    questions: master.questions.map((q) => ({ ...q, stubbed: true })),
    tests: master.tests.map((t) => ({
      ...t,
      after: student.hidden.find((h) => h.id === t.id)?.after ?? [],
      checks: checks[t.id] ?? [],
    })),
    timeLimitSeconds: 60,
    cellTimeoutSeconds: 20,
    masterSeconds: 1,
  };
}

/** A run in which each listed cell printed the given records. */
function fakeRun(
  cells: Record<number, Partial<CellRun>>,
  end: RunResult["end"] = "completed",
  running: number | null = null,
): RunResult {
  const map = new Map<number, CellRun>();
  for (const [i, c] of Object.entries(cells))
    map.set(Number(i), { status: "ok", seconds: 0, text: "", error: "", records: [], ...c });
  return {
    cells: map,
    end,
    outOfMemory: false,
    running,
    seconds: 1,
    log: "",
    work: "/nowhere",
    rerun: false,
  };
}

const pass = (question: string, test: string) => ({
  question,
  test,
  passed: true,
  message: "passed",
});
const fail = (question: string, test: string, message: string) => ({
  question,
  test,
  passed: false,
  message,
});

describe("assign: master notebook markers", () => {
  it("reads questions, solutions and public / hidden tests (comments or metadata)", () => {
    const m = parseMaster(MASTER, "small");
    assert.deepEqual(
      m.questions.map((q) => [q.id, q.title, q.points, q.cell]),
      [
        ["q1", "double", 2, 2],
        ["q2", "a list", 3, 5],
      ],
    );
    assert.deepEqual(
      m.tests.map((t) => t.id),
      ["q1-public-1", "q1-hidden-1", "q2-public-1", "q2-hidden-1", "q2-hidden-2"],
    );
    assert.deepEqual(
      m.solutions.map((s) => [s.question, s.cell, s.line]),
      [
        ["q1", 2, 3],
        ["q2", 5, 3],
      ],
    );
  });

  it("stubs a solution with a throw indented like its marker, or puts the placeholder in", () => {
    const out = stubLines(
      ["f() {", "    // BEGIN SOLUTION", "    return 1;", "    // END SOLUTION", "}"],
      "q7",
      "t",
    );
    assert.deepEqual(out, [
      "f() {",
      "    // YOUR CODE HERE",
      '    throw new Error("not implemented: q7");',
      "}",
    ]);
    const student = buildStudent(parseMaster(MASTER, "small"));
    const q2 = sourceOf(student.notebook.cells.find((c) => sourceOf(c).includes("QUESTION q2"))!);
    assert.equal(
      q2,
      "// QUESTION q2: a list, 3 points\nconst list: number[] = [\n  /* your numbers */\n];",
    );
  });

  it("builds a student version without solutions, hidden tests or outputs", () => {
    const { notebook: s, hidden } = buildStudent(parseMaster(MASTER, "small"));
    const text = s.cells.map(sourceOf).join("\n");
    assert.doesNotMatch(text, /2 \* x|1, 2, 3|SOLUTION|PLACEHOLDER|TEST q\d hidden|list\[0\]/);
    assert.match(text, /throw new Error\("not implemented: q1"\)/);
    assert.equal(s.cells.length, 6);
    for (const c of s.cells.filter((x) => x.cell_type === "code")) {
      assert.deepEqual(c.outputs, []);
      assert.equal(c.execution_count, null);
      assert.ok(typeof c.id === "string" && c.id.length > 0);
    }
    const test = s.cells[3] as NotebookCell;
    assert.deepEqual(test.metadata, {
      dlc7: { test: "public", question: "q1", id: "q1-public-1" },
      editable: false,
      deletable: false,
    });
    assert.deepEqual(
      hidden.map((h) => [h.id, h.after[0]]),
      [
        ["q1-hidden-1", "q1-public-1"],
        ["q2-hidden-1", "q2-public-1"],
        ["q2-hidden-2", "q2-public-1"],
      ],
    );
    assert.equal(MASTER.cells[2]?.outputs?.length, 1, "the master is left untouched");
  });

  const broken: [string, NotebookCell[], RegExp][] = [
    [
      "unbalanced solution",
      [code("// QUESTION q1: a, 1 point\n// BEGIN SOLUTION\nx;")],
      /cell 0, line 2: \/\/ BEGIN SOLUTION without its \/\/ END SOLUTION/,
    ],
    [
      "END without BEGIN",
      [code("// QUESTION q1: a, 1 point\n// END SOLUTION")],
      /without a \/\/ BEGIN SOLUTION before it/,
    ],
    [
      "solution before any question",
      [code("// BEGIN SOLUTION\n// END SOLUTION")],
      /which question is it for/,
    ],
    [
      "test of an unknown question",
      [code("// QUESTION q1: a, 1 point"), code("// TEST q2 public")],
      /no cell above declares \/\/ QUESTION q2/,
    ],
    [
      "question without tests",
      [code("// QUESTION q1: a, 1 point")],
      /question q1 has no test cell/,
    ],
    [
      "misspelt question line",
      [code("// QUESTION q1 a, 1 point")],
      /cannot read "\/\/ QUESTION q1 a, 1 point"/,
    ],
    [
      "solution in a test cell",
      [
        code("// QUESTION q1: a, 1 point"),
        code("// TEST q1 public\n// BEGIN SOLUTION\n// END SOLUTION"),
      ],
      /a test cell cannot hold a solution/,
    ],
    [
      "uncommented placeholder",
      [
        code(
          "// QUESTION q1: a, 1 point\n// BEGIN SOLUTION\n// END SOLUTION\n// BEGIN PLACEHOLDER\nx;\n// END PLACEHOLDER",
        ),
        code("// TEST q1"),
      ],
      /placeholder lines must be commented out/,
    ],
    [
      "question declared twice",
      [code("// QUESTION q1: a, 1 point"), code("// QUESTION q1: b, 1 point")],
      /question q1 is declared twice/,
    ],
  ];
  for (const [what, cells, message] of broken) {
    it(`names the cell and line of a broken master: ${what}`, () => {
      assert.throws(
        () => parseMaster(notebook(cells), "bad"),
        (e: unknown) => {
          assert.ok(e instanceof NotebookError);
          assert.match(e.message, message);
          return true;
        },
      );
    });
  }
});

describe("grade: preparing and scoring a submission", () => {
  const ag = autograderOf(MASTER);
  const student = buildStudent(parseMaster(MASTER, "small")).notebook;

  it("puts each hidden test back after its public test, in the master's order", () => {
    const p = prepareSubmission(ag, student);
    const ids = p.notebook.cells.map(
      (c) => (c.metadata.dlc7 as { id?: string } | undefined)?.id ?? "-",
    );
    assert.deepEqual(ids, [
      "-",
      "-",
      "-",
      "q1-public-1",
      "q1-hidden-1",
      "-",
      "q2-public-1",
      "q2-hidden-1",
      "q2-hidden-2",
    ]);
    assert.deepEqual([...p.testCells.keys()], [3, 4, 6, 7, 8]);
    assert.equal(p.edited.size, 0);
    assert.ok(p.notebook.cells.every((c) => c.cell_type !== "code" || c.outputs?.length === 0));
  });

  it("flags edited and deleted test cells, restores the originals, and ignores copied hidden tests", () => {
    const sub: Notebook = structuredClone(student);
    (sub.cells[3] as NotebookCell).source = 'check("q1", "2", () => undefined);';
    sub.cells.splice(5, 1); // q2's public test
    sub.cells.push(
      code('check("q2", "sum", () => undefined);', {
        dlc7: { test: "hidden", question: "q2", id: "q2-hidden-1" },
      }),
    );
    const p = prepareSubmission(ag, sub);
    assert.deepEqual(Object.fromEntries(p.edited), {
      q1: ["test cell q1-public-1 was edited"],
      q2: ["test cell q2-public-1 was deleted"],
    });
    assert.equal(sourceOf(p.notebook.cells[3] as NotebookCell), ag.tests[0]?.source);
    assert.equal(p.notebook.cells.filter((c) => sourceOf(c).includes('"sum"')).length, 1);
    // Hidden tests of q2 go after the nearest cell above that is still there.
    const ids = p.notebook.cells.map(
      (c) => (c.metadata.dlc7 as { id?: string } | undefined)?.id ?? "-",
    );
    assert.deepEqual(ids.slice(5), ["-", "q2-hidden-1", "q2-hidden-2"]);
  });

  it("does not count line endings and trailing blanks as edits", () => {
    const sub: Notebook = structuredClone(student);
    const c = sub.cells[3] as NotebookCell;
    c.source = sourceOf(c).replace(/\n/g, "  \r\n") + "\n\n";
    assert.equal(prepareSubmission(ag, sub).edited.size, 0);
  });

  it("gives each question its points times the share of its checks that passed", () => {
    const p = prepareSubmission(ag, student);
    const run = fakeRun({
      3: { records: [pass("q1", "2")] },
      4: { records: [fail("q1", "-2", "value: expected -2, got 2")] },
      6: { records: [pass("q2", "length")] },
      7: { records: [pass("q2", "sum")] },
      8: { records: [pass("q2", "first"), pass("q1", "2")] },
    });
    const s = scoreRun(ag, p, run, 60);
    assert.deepEqual(
      s.questions.map((q) => [q.id, q.points, q.passed, q.total]),
      [
        ["q1", 1, 1, 2],
        ["q2", 3, 3, 3],
      ],
    );
    assert.equal(s.tests.find((t) => t.test === "-2")?.message, "value: expected -2, got 2");
    assert.deepEqual(s.errors, []);
  });

  it("scores zero for edited questions, and says why checks did not run", () => {
    const sub: Notebook = structuredClone(student);
    (sub.cells[3] as NotebookCell).source = "// nothing to see";
    const p = prepareSubmission(ag, sub);
    const run = fakeRun(
      {
        2: {
          status: "error",
          error: "evalmachine.<anonymous>:3\n\nTypeError: x is not a function\n    at foo",
        },
        3: { records: [pass("q1", "2")] },
        4: { records: [pass("q1", "-2")] },
        6: {
          status: "error",
          error: "1:7 - Cannot find name 'list'.\n2:1 - Cannot find name 'list'.",
        },
      },
      "time-limit",
      7,
    );
    const s = scoreRun(ag, p, run, 30);
    assert.deepEqual(
      s.questions.map((q) => q.points),
      [0, 0],
    );
    const msg = (t: string) => s.tests.find((x) => x.test === t)?.message;
    assert.equal(
      msg("length"),
      "its test cell failed: does not compile: Cannot find name 'list' (and 1 more error(s))",
    );
    assert.equal(msg("sum"), "the time limit (30 s) was reached in its test cell");
    assert.equal(msg("first"), "not run: the time limit (30 s) was reached before its test cell");
    assert.deepEqual(s.errors, [
      "q1: test cell q1-public-1 was edited (0 points)",
      "time limit (30 s) reached in test cell q2-hidden-1: later cells did not run",
      "q1's cell: TypeError: x is not a function",
    ]);
  });

  it("summarises a cell's error in one line", () => {
    assert.equal(
      errorSummary("evalmachine.<anonymous>:5\n  throw x\n  ^\n\nError: boom\n    at f (a.js:1)"),
      "Error: boom",
    );
    assert.equal(
      errorSummary("3:1 - Cannot find name 'y'."),
      "does not compile: Cannot find name 'y'",
    );
  });

  it("says out of memory, and which file a submission cannot see, in its feedback", () => {
    assert.equal(
      errorSummary(
        "In [4]:3\n\nRangeError: Array buffer allocation failed\n    at new ArrayBuffer",
        3072,
      ),
      "out of memory: a submission may use 3 GiB (RangeError: Array buffer allocation failed)",
    );
    assert.equal(
      errorSummary("Error: ENOENT: no such file or directory, open '/course/assignments/a.ipynb'"),
      "/course/assignments/a.ipynb is not available: a submission sees its own folder, the " +
        "library and the data only (Error: ENOENT: no such file or directory, open '/course/assignments/a.ipynb')",
    );
    const p = prepareSubmission(ag, student);
    const died = {
      ...fakeRun({ 3: { records: [pass("q1", "2")] } }, "kernel-died", 2),
      outOfMemory: true,
    };
    const s = scoreRun(ag, p, died, 60, 1536);
    assert.deepEqual(s.errors, [
      "out of memory in q1's cell: the kernel died past the limit of 1536 MiB per submission; later cells did not run",
    ]);
    assert.equal(
      s.tests.find((t) => t.test === "sum")?.message,
      "not run: the kernel ran out of memory before its test cell",
    );
  });
});

describe("grade reports: the console table and the feedback page", () => {
  const ag = autograderOf(MASTER);
  const grade = (student: string, points: number[], errors: string[]): SubmissionGrade => ({
    student,
    file: `${student}.ipynb`,
    assignment: ag.name,
    questions: ag.questions.map((q, i) => ({
      id: q.id,
      title: q.title,
      max: q.points,
      points: points[i] ?? 0,
      passed: 0,
      total: 1,
      notes: [],
    })),
    total: points.reduce((a, b) => a + b, 0),
    max: ag.questions.reduce((a, q) => a + q.points, 0),
    errors,
    warnings: [],
    tests: [
      {
        question: "q1",
        test: "2 <b>",
        cell: "q1-public-1",
        visibility: "public",
        passed: false,
        message: "value: expected 4, got 6\nexpected  4\nactual    6",
      },
    ],
    executed: null,
    seconds: 1,
    end: "completed",
  });

  it("prints an aligned table, long errors cut, with the mean", () => {
    const text = gradeTableText(
      ag,
      [
        grade("alice", [2, 3], []),
        grade("bob-the-long-name", [0.5, 0], ["q2's cell: " + "x".repeat(200)]),
      ],
      80,
    );
    const lines = text.split("\n");
    assert.deepEqual(lines.slice(0, 2), [
      `${"file".padEnd(23)}   q1  q2  total  errors`,
      `${"alice.ipynb".padEnd(23)}    2   3      5`,
    ]);
    assert.equal(lines[2]?.length, 80);
    assert.match(lines[2] ?? "", /^bob-the-long-name\.ipynb  0\.5   0    0\.5  q2's cell: x+…$/);
    assert.equal(lines[3], "2 submission(s), mean 2.75 / 5; errors in full in the feedback files");
  });

  it("renders the feedback as HTML, escaped, failed checks with their detail", () => {
    const html = feedbackHtml(ag, grade("alice", [1, 3], ["q1's cell: <oops>"]));
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<li>q1&#39;s cell: &lt;oops&gt;<\/li>/);
    assert.match(
      html,
      /<li class="fail">✗ public · 2 &lt;b&gt;: value: expected 4, got 6<pre>expected {2}4\nactual {4}6<\/pre><\/li>/,
    );
    assert.doesNotMatch(html, /\*\*|```/, "no Markdown left");
  });
});
