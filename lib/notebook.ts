/**
 * The notebook context: what every notebook would otherwise repeat. One call at the top,
 *
 *   const nb = await notebook("7.2");
 *
 * initialises the backend, reads the run settings, and gives the notebook its data
 * (`await nb.data("train")`, loaded once per kernel, small in quick mode), its figures and
 * tables (`nb.figure(name, caption, slide)`, `nb.table(frame, name, caption)`), named
 * random streams (`nb.rng(label)`) and
 * `nb.trainOrLoad(...)`, which builds the checkpoint key (configuration, data, seed,
 * training) in one place, so that any notebook asking for the same model by the same name
 * loads the same checkpoint. Models it returns are owned by the context: running the cell
 * again frees the previous model of that name, so re-runs do not pile up memory.
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendReport, initBackend } from "./backend";
import { type Dataset, loadDataset } from "./data/datasets";
import type { Split } from "./data/split";
import type { ConfiguredModule } from "./models/config";
import { Rng, seedFor } from "./random";
import { type DatasetName, type Settings, settings } from "./settings";
import { type Json, trainOrLoad } from "./training/checkpoint";
import { Interrupted, cellInterrupted } from "./training/interrupt";
import type { LossFn } from "./training/losses";
import { type Transform, train } from "./training/train";
import { installErrorDisplay } from "./viz/errors";
import { Figure } from "./viz/figures";
import { saveTable, showTable } from "./viz/tables";
import type pl from "nodejs-polars";

/** Images kept per split in quick mode (the tests): the first of each file. */
export const QUICK_SIZES: Readonly<Record<Split, number>> = { train: 1000, test: 500 };

/** Data that is not one of the image data sets (e.g. 7.3's 2-D points), with a name for keys. */
export interface NamedData {
  name: string;
  inputs: tf.Tensor;
  targets?: tf.Tensor;
}

/** What to train, for nb.trainOrLoad. */
export interface TrainSpec<M extends ConfiguredModule> {
  /** Checkpoint name, e.g. "ae-d8": letters, digits, "-", "_", ".". */
  name: string;
  /** Builds the model from its initialisation seed (derived from the name and the run seed). */
  model: (seed: number) => M;
  loss: LossFn<M>;
  /** A data set (inputs: its images) or named tensors. */
  train: Dataset | NamedData;
  /** Evaluated after every epoch. */
  test?: Dataset | NamedData;
  /** For a Dataset: train on its "images" (default, autoencoders) or its "labels" (classifiers). */
  targets?: "images" | "labels";
  /** Default 1. */
  epochs?: number;
  /** Default 100. */
  batchSize?: number;
  /** Default 1e-3. */
  learningRate?: number;
  maxSteps?: number;
  inputTransform?: Transform;
  targetTransform?: Transform;
  /** Whatever else decides the result (a corruption's parameters...): part of the key. */
  key?: Json;
  /** Progress label (default: the name). */
  label?: string;
}

/** A model trained (or loaded) by nb.trainOrLoad, with its logs. */
export interface Trained<M> {
  model: M;
  /** Per epoch: train and test means of every loss term. */
  log: pl.DataFrame;
  /** Every few steps: the training loss terms (about 100 rows). */
  history: pl.DataFrame;
  /** True when it came from a checkpoint. */
  loaded: boolean;
}

function isDataset(d: Dataset | NamedData): d is Dataset {
  return (d as Dataset).images !== undefined;
}

/** The identity of training data in a checkpoint key. */
function dataKey(d: Dataset | NamedData): Json {
  return isDataset(d)
    ? { name: d.name, train: d.size, subset: d.isSubset }
    : { name: d.name, train: d.inputs.shape[0] ?? 0 };
}

/** Data sets loaded in this kernel, by dataset/split/size: re-running a cell reuses them. */
const loaded = new Map<string, Promise<Dataset>>();
/** Models handed out by trainOrLoad, by name: a re-run frees the previous one. */
const owned = new Map<string, { dispose(): void }>();

export class NotebookContext {
  constructor(
    /** Lecture section, e.g. "7.2": the figures' folder and the prefix of random streams. */
    readonly section: string,
    readonly backend: BackendReport,
    readonly settings: Settings,
  ) {}

  /** DLC_QUICK=1: small data and short training (the tests). */
  get quick(): boolean {
    return this.settings.quick;
  }

  /** The run seed (DLC_SEED) every random draw derives from. */
  get seed(): number {
    return this.settings.seed;
  }

  /** "mnist" or "fashion-mnist" (DLC_DATASET). */
  get dataset(): Settings["dataset"] {
    return this.settings.dataset;
  }

  /**
   * A split of the run's data set, loaded once per kernel (re-running the cell returns the
   * same tensors). Quick mode keeps the first QUICK_SIZES[split] images unless `limit` says.
   */
  data(split: Split, options: { limit?: number } = {}): Promise<Dataset> {
    const limit = options.limit ?? (this.quick ? QUICK_SIZES[split] : undefined);
    const id = `${this.dataset}/${split}/${limit ?? "all"}`;
    let p = loaded.get(id);
    if (p === undefined) {
      p = loadDataset(this.dataset, split, { limit });
      loaded.set(id, p);
      p.catch(() => loaded.delete(id));
    }
    return p;
  }

  /** A figure of this section: `nb.figure(name, caption, slide).grid(...)` or `.chart(...)`. */
  figure(name: string, caption: string, slide?: string): Figure {
    return new Figure({ section: this.section, name, caption, slide });
  }

  /**
   * Shows a table and saves it as CSV beside this section's figures (the figures README
   * links it).
   */
  table(
    frame: pl.DataFrame,
    name: string,
    caption: string,
    options: { maxRows?: number } = {},
  ): void {
    showTable(frame, { caption, maxRows: options.maxRows });
    saveTable(frame, { section: this.section, name, caption });
  }

  /**
   * A named random stream of this section, derived from the run seed ("notebook.7.1.matrix"
   * for nb.rng("matrix") in 7.1: the streams the notebooks drew from before the context).
   */
  rng(label: string): Rng {
    return Rng.stream(`notebook.${this.section}.${label}`, this.seed);
  }

  /**
   * Loads the named model's checkpoint, or trains and saves it (one line says which). The
   * key holds the model's configuration, the data, the run seed and the training settings;
   * the same spec from another notebook loads the same checkpoint.
   */
  async trainOrLoad<M extends ConfiguredModule>(spec: TrainSpec<M>): Promise<Trained<M>> {
    // The rest of a cell that Interrupt ended (tslab lets it run on) loads and trains nothing.
    if (cellInterrupted()) throw new Interrupted(`${spec.name}: interrupted; nothing loaded`);
    const epochs = spec.epochs ?? 1;
    const batchSize = spec.batchSize ?? 100;
    const learningRate = spec.learningRate ?? 1e-3;
    const targets = spec.targets ?? "images";
    const modelSeed = seedFor(spec.name, this.seed);
    const probe = spec.model(modelSeed);
    const config: Json = probe.config;
    probe.dispose();
    // The model trainOrLoad builds: freed if the training fails or is interrupted.
    let built: M | undefined;
    const build = (): M => {
      built = spec.model(modelSeed);
      return built;
    };
    const key = {
      name: spec.name,
      model: config,
      dataset: dataKey(spec.train),
      seed: this.seed,
      training: {
        epochs,
        batchSize,
        learningRate,
        maxSteps: spec.maxSteps ?? null,
        targets: isDataset(spec.train) ? targets : null,
        extra: spec.key ?? null,
      },
    };
    const result = await trainOrLoad(
      key,
      build,
      (model) =>
        withTrainingData(spec.train, spec.test, targets, (trainData, testData) =>
          train({
            model,
            loss: spec.loss,
            train: trainData,
            test: testData,
            epochs,
            batchSize,
            learningRate,
            maxSteps: spec.maxSteps,
            inputTransform: spec.inputTransform,
            targetTransform: spec.targetTransform,
            seed: seedFor(`${spec.name}/train`, this.seed),
            label: spec.label ?? spec.name,
          }),
        ),
      { dir: this.settings.checkpointDir },
    ).catch((e: unknown) => {
      built?.dispose();
      throw e;
    });
    const previous = owned.get(spec.name);
    if (previous !== undefined && previous !== result.model) previous.dispose();
    owned.set(spec.name, result.model);
    return { model: result.model, log: result.log, history: result.history, loaded: result.loaded };
  }
}

/** Runs fn on the tensors to train on, freeing the label tensors it had to make. */
async function withTrainingData<R>(
  trainSet: Dataset | NamedData,
  testSet: Dataset | NamedData | undefined,
  targets: "images" | "labels",
  fn: (
    train: { inputs: tf.Tensor; targets?: tf.Tensor },
    test: { inputs: tf.Tensor; targets?: tf.Tensor } | undefined,
  ) => Promise<R>,
): Promise<R> {
  const made: tf.Tensor[] = [];
  const tensors = (d: Dataset | NamedData): { inputs: tf.Tensor; targets?: tf.Tensor } => {
    if (!isDataset(d)) return { inputs: d.inputs, targets: d.targets };
    if (targets === "images") return { inputs: d.images };
    const labels = tf.tensor1d(d.labels, "int32");
    made.push(labels);
    return { inputs: d.images, targets: labels };
  };
  try {
    return await fn(tensors(trainSet), testSet === undefined ? undefined : tensors(testSet));
  } finally {
    tf.dispose(made);
  }
}

/** What a notebook may set for itself rather than take from the run settings. */
export interface NotebookOptions {
  /** The data set (default DLC_DATASET, which the main job sets). */
  dataset?: DatasetName;
}

/**
 * Starts a notebook of the given lecture section: initialises the backend (one line says
 * which and why) and prints the run's settings.
 */
export async function notebook(
  section: string,
  options: NotebookOptions = {},
): Promise<NotebookContext> {
  if (!/^\d+\.\d+$/.test(section)) {
    throw new Error(`notebook: the section must look like "7.2", got "${section}"`);
  }
  const dataset = options.dataset ?? settings.dataset;
  if (dataset !== "mnist" && dataset !== "fashion-mnist") {
    throw new Error(
      `notebook: dataset must be "mnist" or "fashion-mnist", got "${String(dataset)}"`,
    );
  }
  // In a kernel: errors print their message first, freed tensors name what to re-run.
  installErrorDisplay();
  const backend = await initBackend();
  const mode = settings.quick
    ? `quick mode (the first ${QUICK_SIZES.train.toLocaleString("en-US")} training and ${QUICK_SIZES.test} test images)`
    : "full mode";
  console.log(`${section}: ${mode}, data set ${dataset}, seed ${settings.seed}`);
  return new NotebookContext(section, backend, { ...settings, dataset });
}
