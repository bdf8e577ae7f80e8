/**
 * What notebooks take from the data layer: `import { loadDataset, mapBatches } from "dlc7/data"`.
 * MNIST / Fashion-MNIST as verified tensors [N, 1, 28, 28], the batch loop over a data set,
 * seeded subsets, and the 2-D toy sets of 7.3. (The IDX reader, checksums and downloads
 * behind them are imported from their files by the tests.)
 */
export { loadDataset, loadMnist, type Dataset, type DatasetName, type Split } from "./datasets";
export { forEachBatch, mapBatches, subset, randomSubset, INFERENCE_BATCH } from "./batches";
export { pick, order, randomPairs } from "./picks";
export { openCircle, openCirclePoints, sampleOpenCirclePosterior, openCirclePosteriorMean } from "./toy2d";
