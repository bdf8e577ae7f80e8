/**
 * The machine-readable line a check prints in headless runs (DLC_CHECK_RECORDS=1), which
 * `npm run assign` and `npm run grade` read back from the test cells' output.
 */
export const RECORD_PREFIX = "[dlc7-check] ";

/** One check's outcome. */
export interface CheckRecord {
  question: string;
  test: string;
  passed: boolean;
  /** "passed", or what was printed for the failed test (its reason, then any detail lines). */
  message: string;
}
