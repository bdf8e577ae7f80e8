/**
 * The one error type the data loaders throw, so that callers (and tests) can tell a
 * bad or missing data file from a programming error. Messages name the file and say
 * what to do about it.
 */
export class DataError extends Error {
  /** The file or directory the problem is about (absolute path or URL). */
  readonly file: string;

  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = "DataError";
    this.file = file;
  }
}
