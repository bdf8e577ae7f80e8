/**
 * Noise2Noise's one switch (Lehtinen et al., 2018; NVlabs' train.py has the same one, its
 * `noise2noise` flag): the inputs are noisy images, the targets the clean images or another
 * draw of the same noise. Both draws come from named streams of their own, so input and
 * target noise are independent; test targets stay clean (the PSNR is against the truth).
 */
import type { Json } from "../training/key";
import type { Configured } from "../training/key";
import { type Corruption, type ConfiguredTransform, corruptionTransform } from "./corruption";

export class Noise2Noise implements Configured {
  /** The noisy input: the noise drawn from the "input-noise" stream. */
  readonly inputs: ConfiguredTransform;
  /** The target: undefined for clean targets, else the noise from the "target-noise" stream. */
  readonly targets: ConfiguredTransform | undefined;

  constructor(
    readonly noise: Corruption,
    readonly noisyTargets: boolean,
  ) {
    this.inputs = corruptionTransform(noise, { stream: "input-noise" });
    this.targets = noisyTargets
      ? corruptionTransform(noise, { stream: "target-noise", atTest: false })
      : undefined;
  }

  get config(): Json {
    return { noise: this.noise.config, noisyTargets: this.noisyTargets };
  }

  /** "clean targets" or "noisy targets". */
  get label(): string {
    return this.noisyTargets ? "noisy targets" : "clean targets";
  }
}
