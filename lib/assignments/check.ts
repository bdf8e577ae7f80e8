/**
 * `check(question, name, body)`: runs one test of an assignment and prints one line,
 * "✓ q1 · name" or "✗ q1 · name: what went wrong" with the expected and actual values,
 * never a stack trace. The body's tensors are freed when it ends.
 *
 * Headless runs (`npm run assign`, `npm run grade`) set DLC_CHECK_RECORDS=1: each check
 * then also prints a machine-readable line that the tools read from the test cells.
 */
import { readSettings } from "../settings";
import * as tf from "@tensorflow/tfjs";
import { CheckFailure } from "./expect";
import { RECORD_PREFIX, type CheckRecord } from "./record";

const QUESTION_ID = /^[A-Za-z][\w.-]*$/;
const NOT_IMPLEMENTED = /^not implemented(?::\s*(\S+))?/;
/** Messages longer than this put expected and actual on lines of their own. */
const ONE_LINE = 110;

/**
 * A test's name from its body when none is given: `() => expectShape(f(x), [2])` gives
 * "expectShape(f(x), [2])" (compiled import prefixes such as `(0, m_1.f)` read as `f`).
 */
export function nameFromSource(body: () => unknown): string {
  let s = body
    .toString()
    .replace(/^async\s*/, "")
    .replace(/^function\s*[\w$]*\s*\([^)]*\)\s*/, "")
    .replace(/^(\([^)]*\)|[\w$]+)\s*=>\s*/, "")
    .replace(/\(0,\s*(?:[\w$]+\.)+([\w$]+)\)/g, "$1")
    .replace(/\s+/g, " ")
    .trim();
  if (s.startsWith("{") && s.endsWith("}")) s = s.slice(1, -1).trim();
  s = s.replace(/^return\s+/, "").replace(/;$/, "");
  return s.length > 72 ? `${s.slice(0, 71)}…` : s;
}

/** Why the body failed, as the lines printed under the test's name. */
function explain(question: string, e: unknown): { reason: string; lines: string[] } {
  if (e instanceof CheckFailure) {
    if (e.expected === null) return { reason: e.what, lines: e.detail === null ? [] : [e.detail] };
    const short = `${e.what}: expected ${e.expected}, got ${e.actual}`;
    const lines = e.detail === null ? [] : [e.detail];
    if (short.length <= ONE_LINE) return { reason: short, lines };
    return {
      reason: e.what,
      lines: [`expected  ${e.expected}`, `actual    ${e.actual}`, ...lines],
    };
  }
  const message = e instanceof Error ? e.message : String(e);
  const m = NOT_IMPLEMENTED.exec(message);
  if (m !== null) {
    const which = m[1] ?? question;
    return which === question
      ? {
          reason: `not implemented yet: write your code in place of the throw in ${question}`,
          lines: [],
        }
      : { reason: `needs ${which}, which is not implemented yet`, lines: [] };
  }
  const kind = e instanceof Error ? e.name : typeof e;
  return { reason: `your code threw ${kind}: ${message.split("\n")[0]}`, lines: [] };
}

/** What a check may say besides its body: a hint for the mistake it is there to catch. */
export interface CheckOptions {
  /** Printed under a failed check (not under a stub's "not implemented yet"). */
  hint?: string;
}

/** Prints the test's line (and its record in headless runs); `error` is what the body threw. */
function report(
  question: string,
  test: string,
  outcome: { error: unknown } | null,
  options: CheckOptions,
): void {
  const passed = outcome === null;
  let message = "passed";
  if (passed) console.log(`✓ ${question} · ${test}`);
  else {
    const { reason, lines } = explain(question, outcome.error);
    if (options.hint !== undefined && outcome.error instanceof CheckFailure)
      lines.push(`hint: ${options.hint}`);
    message = [reason, ...lines].join("\n");
    console.log([`✗ ${question} · ${test}: ${reason}`, ...lines.map((l) => `    ${l}`)].join("\n"));
  }
  if (readSettings().checkRecords) {
    const record: CheckRecord = { question, test, passed, message };
    console.log(RECORD_PREFIX + JSON.stringify(record));
  }
}

/**
 * Runs one test of `question` and prints whether it passed. The body throws (through
 * `expectClose`, `expectShape`, ...) when the answer is wrong; any other error thrown by
 * the student's code is reported as such. Nothing is returned (a notebook would show it);
 * an async body gives a promise to await. Tensors the body creates are freed when it ends.
 * `options.hint` says what to fix when the check fails (a check written for one mistake).
 */
export function check(question: string, body: () => Promise<void>): Promise<void>;
export function check(question: string, body: () => void): void;
export function check(
  question: string,
  name: string,
  body: () => Promise<void>,
  options?: CheckOptions,
): Promise<void>;
export function check(
  question: string,
  name: string,
  body: () => void,
  options?: CheckOptions,
): void;
export function check(
  question: string,
  nameOrBody: string | (() => void | Promise<void>),
  maybeBody?: () => void | Promise<void>,
  options: CheckOptions = {},
): void | Promise<void> {
  if (!QUESTION_ID.test(question))
    throw new Error(`check: question id ${JSON.stringify(question)} must look like q1 or q2a`);
  const body = typeof nameOrBody === "function" ? nameOrBody : maybeBody;
  if (typeof body !== "function")
    throw new Error(`check(${JSON.stringify(question)}, name, body): body must be a function`);
  const test = typeof nameOrBody === "string" ? nameOrBody : nameFromSource(body);
  const engine = tf.engine();
  engine.startScope();
  let result: void | Promise<void>;
  try {
    result = body();
  } catch (e) {
    engine.endScope();
    return report(question, test, { error: e }, options);
  }
  if (result instanceof Promise) {
    return result.then(
      () => {
        engine.endScope();
        return report(question, test, null, options);
      },
      (e: unknown) => {
        engine.endScope();
        return report(question, test, { error: e }, options);
      },
    );
  }
  engine.endScope();
  return report(question, test, null, options);
}
