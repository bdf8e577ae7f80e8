/**
 * Rich output in the notebook: one display_data message per bundle.
 *
 * tslab's public `display` sends one mime type per message. A chart needs a bundle
 * (vega-lite for JupyterLab, PNG for every other viewer) in ONE display_data, so that
 * each front end draws it exactly once; tslab's `jupyter.lastWriteDisplayData` (the
 * function its public `display` calls) takes a whole bundle, so we call it directly.
 */
import { type DisplayMessage, type MimeBundle, tslabJupyter } from "./tslab";

/** True while a kernel runs a cell: where `publish` shows something. */
export function inNotebook(): boolean {
  return (tslabJupyter()?.lastWriteDisplayData ?? null) !== null;
}

/**
 * Publishes one display_data message carrying every mime type of `bundle`.
 * With `displayId`, the first call (update false) creates the output and later calls
 * with the same id and update true replace it in place. Throws outside a notebook.
 */
export function publish(
  bundle: MimeBundle,
  options: { displayId?: string; update?: boolean; metadata?: Record<string, unknown> } = {},
): void {
  const write = tslabJupyter()?.lastWriteDisplayData;
  if (write === null || write === undefined) {
    throw new Error(
      "publish: not running inside a tslab notebook kernel (check inNotebook() first)",
    );
  }
  const message: DisplayMessage = { data: bundle, metadata: options.metadata ?? {} };
  if (options.displayId !== undefined) message.transient = { display_id: options.displayId };
  write(message, options.update ?? false);
}

/** Base64 of binary data, the encoding Jupyter expects for image/png. */
export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

let displayCounter = 0;

/** A display id unique within this process (no randomness: outputs stay reproducible). */
export function newDisplayId(): string {
  displayCounter += 1;
  return `dlc7-${process.pid}-${displayCounter}`;
}
