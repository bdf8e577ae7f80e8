/**
 * The notebook context: what every notebook would otherwise repeat. One call at the top,
 *
 *   const nb = await notebook("7.2");
 *
 * initialises the backend, reads the run settings, and gives the notebook its data
 * (`await nb.data("train")`, loaded once per kernel, small in quick mode), its figures and
 * tables (`nb.figure(name, caption, slide)`, `nb.table(frame, name, caption)`), its claims
 * (`nb.claim(ok, text, ...evidence)`), named random streams (`nb.rng(label)`) and
 * `nb.trainOrLoad(...)`, which derives the checkpoint key from the experiment itself: the
 * model's, loss's and transforms' configs, the data's content, the parent a training starts
 * from, the seed and the training settings. Nothing of the key is written by hand, so a
 * change of any of them trains again.
 *
 * The context owns what cells keep: models (by name, from trainOrLoad) and tensors
 * (`nb.keep(name, tensor)`); running a cell again frees what it kept before, and the
 * tensors a cell makes without keeping them are freed when it ends (in a kernel).
 */
import * as tf from "@tensorflow/tfjs";
import type pl from "nodejs-polars";
import { type BackendReport, initBackend } from "./backend";
import { aroundCells } from "./kernel/cells";
import { installErrorDisplay } from "./kernel/errors";
import { cellInterrupted } from "./kernel/interrupts";
import type { ConfiguredTransform } from "./corruptions/corruption";
import { type Dataset, loadDataset } from "./data/datasets";
import type { Split } from "./data/split";
import type { ConfiguredModule } from "./models/config";
import { Rng, seedFor } from "./random";
import { type Settings, settings } from "./settings";
import { Interrupted } from "./training/interrupt";
import {
  type Json,
  TRAINING_VERSION,
  checkpointHash,
  contentDigest,
  tensorDigest,
} from "./training/key";
import type { ConfiguredLoss } from "./training/losses";
import { type TrainingData, train } from "./training/train";
import { trainOrLoad } from "./training/train-or-load";
import { Figure, currentProvenance } from "./viz/figures";
import { type ModelHashes, recordInManifest } from "./viz/manifest";
import { saveTable, showTable } from "./viz/tables";

/**
 * Images kept per split in quick mode (the tests): the first of each file, enough for
 * recognisable reconstructions and samples in about three minutes a notebook.
 */
const QUICK_SIZES: Readonly<Record<Split, number>> = { train: 10000, test: 1000 };

/** How a training starts from trained models: their checkpoints enter the key. */
export interface InitFrom<M> {
  /** The trained models the weights come from. */
  parents: readonly Trained<ConfiguredModule>[];
  /** What is taken from them, in words (part of the key), e.g. "encoder layers". */
  what: string;
  /** Copies the parents' weights into the fresh model. */
  apply(model: M): void;
}

/** What to train, for nb.trainOrLoad: the experiment, all of it part of its key. */
export interface TrainSpec<M extends ConfiguredModule> {
  /** Checkpoint name, e.g. "ae-d8": letters, digits, "-", "_", ".". */
  name: string;
  /** Builds the model from its initialisation seed (derived from the name and the run seed). */
  model: (seed: number) => M;
  loss: ConfiguredLoss<M>;
  /** A data set (inputs: its images) or tensors (by their content). */
  train: Dataset | TrainingData;
  /** Evaluated after every epoch. */
  test?: Dataset | TrainingData;
  /** For a Dataset: train on its "images" (default, autoencoders) or its "labels" (classifiers). */
  targets?: "images" | "labels";
  /** Default 1. */
  epochs?: number;
  /** Default 100. */
  batchSize?: number;
  /** Default 1e-3. */
  learningRate?: number;
  maxSteps?: number;
  inputTransform?: ConfiguredTransform;
  targetTransform?: ConfiguredTransform;
  /** Start from a trained model of the same architecture (its weights), or from parents. */
  init?: Trained<M> | InitFrom<M>;
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
  /** The checkpoint's key hash (16 hex digits): what the manifest records. */
  checkpoint: string;
  /** The digest of the trained weights: children trained from it record it in their key. */
  content: string;
}

function isDataset(d: Dataset | TrainingData): d is Dataset {
  return (d as Dataset).images !== undefined;
}

function isTrained<M>(init: Trained<M> | InitFrom<M>): init is Trained<M> {
  return (init as Trained<M>).checkpoint !== undefined;
}

/** The identity of training data in a checkpoint key: its content. */
function dataKey(d: Dataset | TrainingData, targets: "images" | "labels"): Json {
  if (isDataset(d)) return { content: d.content, targets };
  const tensors = d.targets === undefined ? [d.inputs] : [d.inputs, d.targets];
  return { content: tensorDigest(...tensors) };
}

/** The digest of a model's weights, by parameter name. */
function weightsDigest(model: ConfiguredModule): string {
  const parts = [...model.stateDict()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .flatMap(([name, p]) => [`${name}[${p.shape.join(",")}]`, p.values]);
  return contentDigest(...parts);
}

/**
 * Anything a cell can keep: a tensor, an object that owns tensors and frees them (a model,
 * PCA), or a Map or array of those.
 */
export type Keepable =
  tf.Tensor | { dispose(): void } | ReadonlyMap<unknown, Keepable> | readonly Keepable[];

/** The kept things inside `value`, a Map or an array of them, or value itself. */
function parts(value: Keepable): Keepable[] {
  if (value instanceof Map) return [...value.values()] as Keepable[];
  if (Array.isArray(value)) return value as Keepable[];
  return [value];
}

/** Keeps every tensor of `value` (itself, or its own properties, arrays and maps). */
function keepTensors(value: unknown, depth = 0): void {
  if (value instanceof tf.Tensor) {
    tf.keep(value);
  } else if (depth < 3 && value !== null && typeof value === "object") {
    const items = value instanceof Map ? [...value.values()] : Object.values(value);
    for (const item of items) keepTensors(item, depth + 1);
  }
}

/** Frees what keep kept (each part of a Map or an array). */
function disposeKept(value: Keepable): void {
  const items = parts(value);
  if (items.length === 1 && items[0] === value) (value as { dispose(): void }).dispose();
  else for (const item of items) disposeKept(item);
}

interface EngineState {
  activeScope: object | null;
}

/** The engine scope opened for the running cell, or null. */
let cellScope: object | null = null;

/**
 * In a kernel: every cell runs in a tfjs scope of its own, which frees, when the cell ends,
 * the tensors it made and did not keep (nb.keep, nb.data, trainOrLoad's models). A cell
 * still running after Interrupt (tslab lets its code go on) keeps its scope open.
 */
function installCellScope(): void {
  const state = (): EngineState => (tf.engine() as unknown as { state: EngineState }).state;
  aroundCells({
    start: () => {
      tf.engine().startScope("notebook cell");
      cellScope = state().activeScope;
    },
    end: () => {
      if (cellScope !== null && state().activeScope === cellScope) tf.engine().endScope();
      cellScope = null;
    },
  });
}

/** Data sets loaded in this kernel, by dataset/split/size: re-running a cell reuses them. */
const loaded = new Map<string, Promise<Dataset>>();
/** What cells kept, by name (models from trainOrLoad, tensors from keep): freed on re-run. */
const owned = new Map<string, { value: unknown; dispose(): void }>();

/** Keeps `value` under `key`, freeing what was kept there before (unless it is the same). */
function own(key: string, value: unknown, dispose: () => void): void {
  const previous = owned.get(key);
  if (previous !== undefined && previous.value !== value) previous.dispose();
  owned.set(key, { value, dispose });
}

export class NotebookContext {
  /** The checkpoint hashes of the models handed out so far, by name. */
  private readonly modelHashes: ModelHashes = {};

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
      p = loadDataset(this.dataset, split, { limit }).then((d) => {
        tf.keep(d.images);
        return d;
      });
      loaded.set(id, p);
      p.catch(() => loaded.delete(id));
    }
    return p;
  }

  /** A figure of this section: `nb.figure(name, caption, slide).grid(...)` or `.chart(...)`. */
  figure(name: string, caption: string, slide?: string): Figure {
    return new Figure({ section: this.section, name, caption, slide, models: this.models() });
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
    saveTable(frame, { section: this.section, name, caption, models: this.models() });
  }

  /**
   * Checks a claim of the lecture from the numbers: prints "confirmed: <text> (<evidence>)"
   * or "not confirmed: ...", and records it in the figures manifest.
   */
  claim(ok: boolean, text: string, ...evidence: string[]): void {
    this.record(ok ? "confirmed" : "not confirmed", text, evidence);
  }

  /**
   * A claim that quick mode's small data cannot decide: checked in full mode, printed as
   * "not checked in quick mode" (with the numbers) in quick mode.
   */
  claimAtFullScale(ok: boolean, text: string, ...evidence: string[]): void {
    if (this.quick) this.record("not checked in quick mode", text, evidence);
    else this.claim(ok, text, ...evidence);
  }

  private record(
    verdict: "confirmed" | "not confirmed" | "not checked in quick mode",
    text: string,
    evidence: string[],
  ): void {
    console.log(`${verdict}: ${text}${evidence.length > 0 ? ` (${evidence.join("; ")})` : ""}`);
    recordInManifest(this.settings.figuresDir, {
      claim: {
        section: this.section,
        text,
        verdict,
        evidence,
        ...currentProvenance(),
        models: this.models(),
      },
    });
  }

  /**
   * A named random stream of this section, derived from the run seed ("notebook.7.1.matrix"
   * for nb.rng("matrix") in 7.1: the streams the notebooks drew from before the context).
   */
  rng(label: string): Rng {
    return Rng.stream(`notebook.${this.section}.${label}`, this.seed);
  }

  /**
   * Keeps `value` (a tensor, or an object owning tensors) past the end of its cell under
   * `name`: running the cell again frees the previous value of that name. Returns it.
   */
  keep<T extends Keepable>(name: string, value: T): T {
    keepTensors(value);
    own(`keep:${name}`, value, () => disposeKept(value));
    return value;
  }

  /**
   * Runs `fn` and prints the message of the error it throws, as the lecture shows PyTorch's
   * (what a call refuses, and why); throws when it does not throw.
   */
  printError(fn: () => unknown): void {
    try {
      fn();
    } catch (e) {
      console.log(e instanceof Error ? e.message : String(e));
      return;
    }
    throw new Error("printError: the call did not throw");
  }

  /** The checkpoint hashes of the models handed out so far (figures and claims record them). */
  models(): ModelHashes {
    return { ...this.modelHashes };
  }

  /**
   * Loads the named model's checkpoint, or trains and saves it (one line says which). The
   * key is derived from the spec: the same experiment from another notebook loads the same
   * checkpoint, and any change of it (model, loss, transforms, data, parent, seed, training)
   * trains again.
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
    const init = spec.init;
    const parents = init === undefined ? [] : isTrained(init) ? [init] : init.parents;
    const key = {
      name: spec.name,
      model: config,
      dataset: {
        train: dataKey(spec.train, targets),
        test: spec.test === undefined ? null : dataKey(spec.test, targets),
      },
      seed: this.seed,
      training: {
        version: TRAINING_VERSION,
        epochs,
        batchSize,
        learningRate,
        maxSteps: spec.maxSteps ?? null,
        loss: spec.loss.config,
        inputTransform: spec.inputTransform?.config ?? null,
        targetTransform: spec.targetTransform?.config ?? null,
        init:
          init === undefined
            ? null
            : {
                from: parents.map((p) => ({ checkpoint: p.checkpoint, weights: p.content })),
                what: isTrained(init) ? "all weights" : init.what,
              },
      },
    };
    const build = (): M => {
      const model = spec.model(modelSeed);
      if (init !== undefined) {
        if (isTrained(init)) model.loadStateDict(init.model.stateDict());
        else init.apply(model);
      }
      return model;
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
    );
    own(`model:${spec.name}`, result.model, () => result.model.dispose());
    const checkpoint = checkpointHash(key);
    this.modelHashes[spec.name] = checkpoint;
    return {
      model: result.model,
      log: result.log,
      history: result.history,
      loaded: result.loaded,
      checkpoint,
      content: weightsDigest(result.model),
    };
  }
}

/** Runs fn on the tensors to train on, freeing the label tensors it had to make. */
async function withTrainingData<R>(
  trainSet: Dataset | TrainingData,
  testSet: Dataset | TrainingData | undefined,
  targets: "images" | "labels",
  fn: (train: TrainingData, test: TrainingData | undefined) => Promise<R>,
): Promise<R> {
  const made: tf.Tensor[] = [];
  const tensors = (d: Dataset | TrainingData): TrainingData => {
    if (!isDataset(d)) return d;
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

/**
 * Starts a notebook of the given lecture section: initialises the backend (one line says
 * which and why) and prints the run's settings: the mode, and what quick mode cannot show.
 */
export async function notebook(section: string): Promise<NotebookContext> {
  if (!/^\d+\.\d+$/.test(section)) {
    throw new Error(`notebook: the section must look like "7.2", got "${section}"`);
  }
  // In a kernel: errors print their message first, freed tensors name what to re-run.
  installErrorDisplay();
  installCellScope();
  const backend = await initBackend();
  const { train: n, test: m } = QUICK_SIZES;
  const mode = settings.quick
    ? `quick mode: the first ${n.toLocaleString("en-US")} training and ${m.toLocaleString("en-US")} ` +
      "test images, short trainings; the lecture's numbers need full mode (npm run figures), " +
      'and the claims it cannot decide say "not checked in quick mode"'
    : "full mode: every image, the lecture's trainings";
  console.log(`${section}: ${mode}; data set ${settings.dataset}, seed ${settings.seed}`);
  return new NotebookContext(section, backend, settings);
}
