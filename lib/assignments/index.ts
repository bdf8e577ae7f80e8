/**
 * Checks for course assignments: `import { check, expectClose } from "dlc7/assignments"`.
 * A test cell calls `check("q1", "name", () => expectClose(answer(x), expected))`; the line
 * it prints says whether the answer passed, and if not, what was expected and what came back.
 * assignments/README.md describes the master notebooks and the tools built on these checks.
 */
export { check } from "./check";
export { RECORD_PREFIX, type CheckRecord } from "./record";
export { expectClose, expectEqual, expectShape, expectTrue } from "./expect";
export { formatNumber } from "./describe";
