/**
 * nodejs-polars DataFrames in the notebook (an HTML table with numbers rounded for
 * reading) and on disk (CSV beside the figures, full precision, in the manifest).
 */
import * as path from "node:path";
import type { DataFrame } from "nodejs-polars";
import { readSettings } from "../settings";
import { currentProvenance } from "./figures";
import { writeFileAtomic } from "../atomic-write";
import { escapeHtml } from "./html";
import { checkName, describeFile, recordInManifest, type ModelHashes } from "./manifest";
import { formatNumber } from "./format";
import { showHtml } from "./show";

export interface TableOptions {
  /** Rows shown (default 20); the rest are counted in a last line. */
  maxRows?: number;
  /** Significant digits of floating-point cells (default 4). */
  digits?: number;
  /** Shown above the table. */
  caption?: string;
}

function cell(value: unknown, digits: number): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number") {
    if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
    return digits === 4 ? formatNumber(value) : String(Number(value.toPrecision(digits)));
  }
  if (typeof value === "bigint") return value.toString();
  return String(value);
}

/** The DataFrame as an HTML table (every cell and header escaped). */
export function tableHtml(df: DataFrame, options: TableOptions = {}): string {
  const maxRows = options.maxRows ?? 20;
  const digits = options.digits ?? 4;
  if (!Number.isInteger(maxRows) || maxRows < 0)
    throw new Error(`tableHtml: maxRows must be an integer >= 0, got ${maxRows}`);
  const columns = df.columns;
  const rows = df.head(maxRows).toRecords() as Record<string, unknown>[];
  const numeric = new Set(
    df
      .getColumns()
      .filter((s) => s.isNumeric())
      .map((s) => s.name),
  );
  const align = (c: string) => (numeric.has(c) ? ' style="text-align:right"' : "");
  const parts = ["<table>"];
  if (options.caption !== undefined)
    parts.push(`<caption>${escapeHtml(options.caption)}</caption>`);
  parts.push(
    "<thead><tr>",
    ...columns.map((c) => `<th${align(c)}>${escapeHtml(c)}</th>`),
    "</tr></thead><tbody>",
  );
  for (const row of rows) {
    parts.push(
      "<tr>",
      ...columns.map((c) => `<td${align(c)}>${escapeHtml(cell(row[c], digits))}</td>`),
      "</tr>",
    );
  }
  parts.push("</tbody></table>");
  if (df.height > rows.length)
    parts.push(`<p>… ${df.height - rows.length} more rows (${df.height} in all)</p>`);
  return parts.join("");
}

/** Shows the DataFrame as an HTML table in the notebook (nothing outside one). */
export function showTable(df: DataFrame, options: TableOptions = {}): void {
  showHtml(tableHtml(df, options), df.head(options.maxRows ?? 20).toString());
}

/**
 * Writes the DataFrame as `<figuresDir>/<section>/<name>.csv` (atomically) and records
 * it in the manifest's `tables`. Returns the CSV's absolute path.
 */
export function saveTable(
  df: DataFrame,
  info: { section: string; name: string; caption?: string; models?: ModelHashes },
): string {
  checkName("table section", info.section);
  checkName("table name", info.name);
  const dir = readSettings().figuresDir;
  const file = path.join(dir, info.section, `${info.name}.csv`);
  const csv = new Uint8Array(df.writeCSV());
  writeFileAtomic(file, csv);
  recordInManifest(dir, {
    table: {
      section: info.section,
      name: info.name,
      caption: info.caption ?? "",
      ...currentProvenance(),
      ...(info.models !== undefined ? { models: info.models } : {}),
      rows: df.height,
      columns: df.columns,
      files: [describeFile(dir, file, csv)],
    },
  });
  return file;
}
