/**
 * Master notebooks of assignments and what `npm run assign` derives from them: the
 * student version (solutions replaced by stubs, hidden tests removed, no outputs) and
 * the autograder's copy of the tests. The markers are described in assignments/README.md:
 *
 *   // QUESTION q1: <title>, <points> points     first line of the cell a question starts in
 *   // BEGIN SOLUTION ... // END SOLUTION          replaced by a stub that throws
 *   // BEGIN PLACEHOLDER ... // END PLACEHOLDER    (after END SOLUTION) commented-out lines
 *                                                  that replace the solution instead
 *   // TEST q1 public | // TEST q1 hidden          first line of a test cell
 *
 * or, instead of the first-line comments, cell metadata `dlc7: { question, title, points }`
 * and `dlc7: { test: "public" | "hidden", question }`.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** A cell as nbformat 4 stores it. */
export interface NotebookCell {
  cell_type: "code" | "markdown" | "raw";
  id?: string;
  metadata: Record<string, unknown>;
  source: string | string[];
  outputs?: unknown[];
  execution_count?: number | null;
  attachments?: unknown;
}

export interface Notebook {
  cells: NotebookCell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

/** An error in a master notebook or a submission, naming the file and cell. */
export class NotebookError extends Error {}

export function sourceOf(cell: NotebookCell): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/** Reads an .ipynb file, or throws a NotebookError that says what is wrong with it. */
export function readNotebook(file: string): Notebook {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new NotebookError(`${file}: not a readable notebook (${(e as Error).message})`);
  }
  const nb = data as Partial<Notebook>;
  if (typeof nb !== "object" || nb === null || !Array.isArray(nb.cells) || nb.nbformat !== 4)
    throw new NotebookError(`${file}: not a Jupyter notebook in nbformat 4 (no "cells" list)`);
  for (const [i, c] of nb.cells.entries()) {
    const ok =
      typeof c === "object" &&
      c !== null &&
      ["code", "markdown", "raw"].includes((c as NotebookCell).cell_type) &&
      (typeof c.source === "string" || Array.isArray(c.source));
    if (!ok) throw new NotebookError(`${file}: cell ${i} is not a valid notebook cell`);
    c.metadata ??= {};
  }
  nb.metadata ??= {};
  return nb as Notebook;
}

/** Notebook JSON as Jupyter writes it (one-space indent, trailing newline). */
export function notebookJson(nb: Notebook): string {
  return JSON.stringify(nb, null, 1) + "\n";
}

export interface Question {
  id: string;
  title: string;
  points: number;
  /** Index of the cell the question starts in. */
  cell: number;
}

export type Visibility = "public" | "hidden";

export interface TestCell {
  /** Stable name of the cell: q1-public-1, q1-hidden-2, ... */
  id: string;
  question: string;
  visibility: Visibility;
  cell: number;
  source: string;
}

export interface SolutionRegion {
  question: string;
  cell: number;
  /** The region's first line (the BEGIN marker), 1-based. */
  line: number;
}

export interface Master {
  name: string;
  notebook: Notebook;
  questions: Question[];
  tests: TestCell[];
  solutions: SolutionRegion[];
}

const ID = "[A-Za-z][\\w.-]*";
const QUESTION_LINE = new RegExp(
  `^\\s*//\\s*QUESTION\\s+(${ID})\\s*:\\s*(.*?)\\s*,\\s*(\\d+(?:\\.\\d+)?)\\s*points?\\s*$`,
);
const TEST_LINE = new RegExp(`^\\s*//\\s*TEST\\s+(${ID})(?:\\s+(public|hidden))?\\s*$`);
const MARKER = /^(\s*)\/\/\s*(BEGIN|END)\s+(SOLUTION|PLACEHOLDER)\s*$/;

interface Dlc7Meta {
  question?: unknown;
  title?: unknown;
  points?: unknown;
  test?: unknown;
}

function dlc7Meta(cell: NotebookCell): Dlc7Meta {
  const m = cell.metadata.dlc7;
  return typeof m === "object" && m !== null ? (m as Dlc7Meta) : {};
}

function firstLine(cell: NotebookCell): string {
  return sourceOf(cell).split("\n")[0] ?? "";
}

function questionOf(cell: NotebookCell, where: string): Omit<Question, "cell"> | null {
  const meta = dlc7Meta(cell);
  if (meta.question !== undefined && meta.test === undefined) {
    const { question: id, title, points } = meta;
    if (
      typeof id !== "string" ||
      !new RegExp(`^${ID}$`).test(id) ||
      typeof points !== "number" ||
      !(points > 0)
    )
      throw new NotebookError(
        `${where}: metadata dlc7 must be { question: "q1", title: "...", points: 2 } (points > 0)`,
      );
    return { id, title: typeof title === "string" ? title : id, points };
  }
  const line = firstLine(cell);
  const m = QUESTION_LINE.exec(line);
  if (m === null) {
    if (/^\s*\/\/\s*QUESTION\b/.test(line))
      throw new NotebookError(
        `${where}: cannot read "${line.trim()}": write // QUESTION q1: <title>, <points> points`,
      );
    return null;
  }
  return { id: m[1] as string, title: m[2] as string, points: Number(m[3]) };
}

function testOf(cell: NotebookCell, where: string): { question: string; vis: Visibility } | null {
  const meta = dlc7Meta(cell);
  if (meta.test !== undefined) {
    if ((meta.test !== "public" && meta.test !== "hidden") || typeof meta.question !== "string")
      throw new NotebookError(
        `${where}: metadata dlc7 of a test cell must be { test: "public" | "hidden", question: "q1" }`,
      );
    return { question: meta.question, vis: meta.test };
  }
  const line = firstLine(cell);
  const m = TEST_LINE.exec(line);
  if (m === null) {
    if (/^\s*\/\/\s*TEST\b/.test(line))
      throw new NotebookError(
        `${where}: cannot read "${line.trim()}": write // TEST q1 public or // TEST q1 hidden`,
      );
    return null;
  }
  return { question: m[1] as string, vis: (m[2] as Visibility | undefined) ?? "public" };
}

/** Reads the markers of a master notebook; throws a NotebookError naming the cell and line. */
export function parseMaster(nb: Notebook, name: string): Master {
  const questions: Question[] = [];
  const tests: TestCell[] = [];
  const solutions: SolutionRegion[] = [];
  const counts = new Map<string, number>();
  let current: Question | null = null;
  nb.cells.forEach((cell, i) => {
    const where = `${name}, cell ${i}`;
    const src = sourceOf(cell);
    if (cell.cell_type !== "code") {
      if (src.split("\n").some((l) => MARKER.test(l)))
        throw new NotebookError(`${where}: solution markers only work in code cells`);
      return;
    }
    const q = questionOf(cell, where);
    const t = testOf(cell, where);
    if (q !== null && t !== null)
      throw new NotebookError(`${where}: a cell is either a question or a test, not both`);
    if (q !== null) {
      if (questions.some((o) => o.id === q.id))
        throw new NotebookError(`${where}: question ${q.id} is declared twice`);
      current = { ...q, cell: i };
      questions.push(current);
    }
    if (t !== null) {
      if (!questions.some((o) => o.id === t.question))
        throw new NotebookError(
          `${where}: test for ${t.question}, but no cell above declares // QUESTION ${t.question}: ...`,
        );
      const key = `${t.question}-${t.vis}`;
      const k = (counts.get(key) ?? 0) + 1;
      counts.set(key, k);
      tests.push({
        id: `${key}-${k}`,
        question: t.question,
        visibility: t.vis,
        cell: i,
        source: src,
      });
    }
    const lines = src.split("\n");
    lines.forEach((line, j) => {
      const m = MARKER.exec(line);
      if (m === null || m[2] !== "BEGIN" || m[3] !== "SOLUTION") return;
      if (t !== null)
        throw new NotebookError(`${where}, line ${j + 1}: a test cell cannot hold a solution`);
      const owner: Question | null = current;
      if (owner === null)
        throw new NotebookError(
          `${where}, line ${j + 1}: solution before any // QUESTION line: which question is it for?`,
        );
      solutions.push({ question: owner.id, cell: i, line: j + 1 });
    });
    stubLines(lines, current?.id ?? "?", where); // validates the markers' nesting
  });
  if (questions.length === 0)
    throw new NotebookError(`${name}: no question (a code cell starting // QUESTION q1: ...)`);
  for (const q of questions) {
    if (!tests.some((t) => t.question === q.id))
      throw new NotebookError(
        `${name}: question ${q.id} has no test cell (// TEST ${q.id} public)`,
      );
  }
  return { name, notebook: nb, questions, tests, solutions };
}

/**
 * The lines of a code cell with each solution region replaced by its placeholder (its
 * commented lines, uncommented) or by a stub that throws `not implemented: <question>`,
 * indented like the BEGIN marker. Throws on unbalanced markers.
 */
export function stubLines(lines: readonly string[], question: string, where: string): string[] {
  const out: string[] = [];
  let i = 0;
  const fail = (j: number, what: string): never => {
    throw new NotebookError(`${where}, line ${j + 1}: ${what}`);
  };
  while (i < lines.length) {
    const line = lines[i] as string;
    const m = MARKER.exec(line);
    if (m === null) {
      out.push(line);
      i++;
      continue;
    }
    const [, indent = "", kind, what] = m;
    if (kind === "END" || what === "PLACEHOLDER")
      fail(i, `${line.trim()} without a // BEGIN SOLUTION before it`);
    let end = i + 1;
    while (end < lines.length && !MARKER.test(lines[end] as string)) end++;
    const endM = MARKER.exec(lines[end] ?? "");
    if (endM === null || endM[2] !== "END" || endM[3] !== "SOLUTION")
      fail(i, "// BEGIN SOLUTION without its // END SOLUTION");
    let next = end + 1;
    let look = next;
    while (look < lines.length && (lines[look] as string).trim() === "") look++;
    const placeholder = MARKER.exec(lines[look] ?? "");
    if (placeholder !== null && placeholder[2] === "BEGIN" && placeholder[3] === "PLACEHOLDER") {
      let pEnd = look + 1;
      while (pEnd < lines.length && !MARKER.test(lines[pEnd] as string)) pEnd++;
      const pEndM = MARKER.exec(lines[pEnd] ?? "");
      if (pEndM === null || pEndM[2] !== "END" || pEndM[3] !== "PLACEHOLDER")
        fail(look, "// BEGIN PLACEHOLDER without its // END PLACEHOLDER");
      for (let j = look + 1; j < pEnd; j++) {
        const pl = lines[j] as string;
        const c = /^(\s*)\/\/ ?(.*)$/.exec(pl);
        if (c === null && pl.trim() !== "")
          fail(j, "placeholder lines must be commented out (// ...) so that the master runs");
        out.push(c === null ? "" : `${c[1]}${c[2]}`);
      }
      next = pEnd + 1;
    } else {
      out.push(
        `${indent}// YOUR CODE HERE`,
        `${indent}throw new Error("not implemented: ${question}");`,
      );
    }
    i = next;
  }
  return out;
}

/** Deterministic id for cells written without one (nbformat < 4.5). */
function cellId(name: string, index: number, cell: NotebookCell): string {
  if (typeof cell.id === "string" && cell.id !== "") return cell.id;
  return createHash("sha256").update(`${name}:${index}`).digest("hex").slice(0, 8);
}

function cleanCell(cell: NotebookCell, id: string, source: string): NotebookCell {
  const { outputs: _o, execution_count: _e, ...rest } = cell;
  const out: NotebookCell = { ...rest, id, source, metadata: { ...cell.metadata } };
  delete out.metadata.execution;
  delete out.metadata.collapsed;
  if (cell.cell_type === "code") {
    out.outputs = [];
    out.execution_count = null;
  }
  return out;
}

/** The id the grader finds a cell by: a test's or question's name, else the cell id. */
export function anchorId(cell: NotebookCell): string {
  const m = dlc7Meta(cell);
  if (typeof m.test === "string" && typeof (m as { id?: unknown }).id === "string")
    return (m as { id: string }).id;
  if (typeof m.question === "string" && m.test === undefined) return `question:${m.question}`;
  return `cell:${cell.id ?? ""}`;
}

export interface HiddenCell {
  id: string;
  question: string;
  source: string;
  /** Anchors of the student-version cells above it, nearest first: it goes after the first found. */
  after: string[];
}

export interface StudentBuild {
  notebook: Notebook;
  hidden: HiddenCell[];
}

/**
 * The student version: solutions stubbed, hidden test cells taken out (with where they
 * go back), outputs cleared, question and test cells labelled in their metadata (test
 * cells locked against editing in Jupyter).
 */
export function buildStudent(master: Master): StudentBuild {
  const cells: NotebookCell[] = [];
  const hidden: HiddenCell[] = [];
  let question = "?";
  master.notebook.cells.forEach((cell, i) => {
    const where = `${master.name}, cell ${i}`;
    const id = cellId(master.name, i, cell);
    const q = master.questions.find((o) => o.cell === i);
    if (q !== undefined) question = q.id;
    const test = master.tests.find((t) => t.cell === i);
    if (test?.visibility === "hidden") {
      hidden.push({
        id: test.id,
        question: test.question,
        source: test.source,
        after: cells.map(anchorId).reverse(),
      });
      return;
    }
    const source =
      cell.cell_type === "code"
        ? stubLines(sourceOf(cell).split("\n"), question, where).join("\n")
        : sourceOf(cell);
    const out = cleanCell(cell, id, source);
    if (test !== undefined) {
      out.metadata.dlc7 = { test: "public", question: test.question, id: test.id };
      out.metadata.editable = false;
      out.metadata.deletable = false;
    } else if (q !== undefined) {
      out.metadata.dlc7 = { question: q.id, title: q.title, points: q.points };
    }
    cells.push(out);
  });
  return {
    notebook: {
      ...master.notebook,
      metadata: { ...master.notebook.metadata },
      nbformat: 4,
      nbformat_minor: Math.max(5, master.notebook.nbformat_minor),
      cells,
    },
    hidden,
  };
}

/** The test cells the autograder restores (public) and inserts (hidden). */
export interface AutograderTestCell {
  id: string;
  question: string;
  visibility: Visibility;
  source: string;
  /** For hidden cells: anchors of the cells above it in the student version, nearest first. */
  after: string[];
  /** Names of the checks this cell ran in the master, in order. */
  checks: string[];
}

export interface AutograderQuestion {
  id: string;
  title: string;
  points: number;
  /** Whether the student version had its solution removed. */
  stubbed: boolean;
}

/** build/assignments/autograder/<name>.json */
export interface Autograder {
  format: 1;
  name: string;
  /** Hash of the tests; the student version carries it too. */
  version: string;
  questions: AutograderQuestion[];
  tests: AutograderTestCell[];
  /** Default time limits for a submission, from the master's own run. */
  timeLimitSeconds: number;
  cellTimeoutSeconds: number;
  masterSeconds: number;
}

export function testsVersion(tests: readonly { id: string; source: string }[]): string {
  const h = createHash("sha256");
  for (const t of tests) h.update(`${t.id}\0${t.source}\0`);
  return h.digest("hex").slice(0, 12);
}

/** Comparable text of a cell: line endings and trailing blanks do not count as edits. */
export function normalizedSource(source: string): string {
  return source
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n")
    .trim();
}

/** The name of an assignment: the master's file name without .ipynb. */
export function assignmentName(file: string): string {
  return path.basename(file).replace(/\.ipynb$/, "");
}
