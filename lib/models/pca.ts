/**
 * PCA as the linear baseline of lecture 7.2, with the autoencoder's interface (Codec):
 * encode [N, C, H, W] -> [N, d, 1, 1], decode back, forward = decode(encode(x)).
 *
 * Fitting: the mean and the D x D covariance (1/N) in Float64 (lib/linalg), then its exact
 * eigen-decomposition. The full spectrum is kept, so the training reconstruction error of
 * every prefix is known (the PCA identity: mean ||x - g(f(x))||^2 = sum of the discarded
 * eigenvalues).
 */
import * as tf from "@tensorflow/tfjs";
import { meanAndCovariance } from "../linalg/covariance";
import { symmetricEigen } from "../linalg/symmetric-eigen";
import type { Codec } from "./codec";

/** Options of {@link PCA.fit}. */
export interface PCAFitOptions {
  /** Rows per covariance matMul (bounds memory; default 2000). */
  readonly batchSize?: number;
}

/**
 * Principal component analysis of images. Fit once at the largest d, then take prefixes
 * with {@link PCA.truncate}.
 */
export class PCA implements Codec {
  /** Latent dimension d. */
  readonly d: number;
  /** Shape of one image [C, H, W]. */
  readonly imageShape: readonly number[];
  /** D = C * H * W. */
  readonly dim: number;
  readonly nSamples: number;
  /** Mean image (D). */
  readonly mean: Float64Array;
  /** d x D, row k = component k. */
  readonly components: Float64Array;
  /** All eigenvalues of the training covariance, decreasing (D of them). */
  readonly eigenvalues: Float64Array;
  private meanT: tf.Tensor2D | null; // [1, D]
  private basisT: tf.Tensor2D | null; // [D, d], for encode
  private rowsT: tf.Tensor2D | null; // [d, D], for decode (matMul's transpose flags are slow on wasm)

  private constructor(
    imageShape: readonly number[],
    nSamples: number,
    mean: Float64Array,
    components: Float64Array,
    eigenvalues: Float64Array,
  ) {
    this.imageShape = [...imageShape];
    this.dim = imageShape.reduce((a, b) => a * b, 1);
    this.d = components.length / this.dim;
    this.nSamples = nSamples;
    this.mean = mean;
    this.components = components;
    this.eigenvalues = eigenvalues;
    const basis = new Float32Array(this.dim * this.d);
    for (let k = 0; k < this.d; k++) {
      for (let j = 0; j < this.dim; j++) {
        basis[j * this.d + k] = components[k * this.dim + j]!;
      }
    }
    // keep: a PCA made inside a caller's tf.tidy must outlive it.
    this.meanT = tf.keep(tf.tensor2d(Float32Array.from(mean), [1, this.dim]));
    this.basisT = tf.keep(tf.tensor2d(basis, [this.dim, this.d]));
    this.rowsT = tf.keep(tf.tensor2d(Float32Array.from(components), [this.d, this.dim]));
  }

  /**
   * Fits PCA with d components on images [N, C, H, W]: mean-centred, the top-d eigenvectors
   * of the covariance. Does not dispose `images`.
   */
  static fit(images: tf.Tensor4D, d: number, options: PCAFitOptions = {}): PCA {
    if (images.rank !== 4) {
      throw new Error(`PCA.fit: expected images [N, C, H, W], got shape [${images.shape}]`);
    }
    const [n, c, h, w] = images.shape;
    const dim = c * h * w;
    if (!Number.isInteger(d) || d < 1 || d > dim) {
      throw new Error(`PCA.fit: d must be an integer in [1, ${dim}], got ${d}`);
    }
    if (n < 2) throw new Error(`PCA.fit: need at least 2 images, got ${n}`);
    const { mean, covariance } = meanAndCovariance(images, options.batchSize ?? 2000);
    const { values, vectors } = symmetricEigen(covariance, dim);
    // Round-off can leave tiny negative eigenvalues of a semi-definite matrix.
    for (let k = 0; k < dim; k++) values[k] = Math.max(0, values[k]!);
    return new PCA([c, h, w], n, mean, vectors.slice(0, d * dim), values);
  }

  /** A new PCA keeping the first d components (d <= this.d). Independent of this one. */
  truncate(d: number): PCA {
    if (!Number.isInteger(d) || d < 1 || d > this.d) {
      throw new Error(`PCA.truncate: d must be an integer in [1, ${this.d}], got ${d}`);
    }
    return new PCA(
      this.imageShape,
      this.nSamples,
      this.mean.slice(),
      this.components.slice(0, d * this.dim),
      this.eigenvalues.slice(),
    );
  }

  /** f(x): images [N, C, H, W] -> codes [N, d, 1, 1]. */
  encode(x: tf.Tensor4D): tf.Tensor4D {
    const { meanT, basisT } = this.tensors();
    this.checkImages(x, "encode");
    const n = x.shape[0];
    return tf.tidy(() =>
      tf.reshape(tf.matMul(tf.sub(tf.reshape(x, [n, this.dim]), meanT), basisT), [n, this.d, 1, 1]),
    );
  }

  /** g(z): codes [N, d, 1, 1] (or [N, d]) -> images [N, C, H, W]. */
  decode(z: tf.Tensor4D | tf.Tensor2D): tf.Tensor4D {
    const { meanT, rowsT } = this.tensors();
    if (z.size !== z.shape[0] * this.d || (z.rank !== 4 && z.rank !== 2)) {
      throw new Error(`PCA.decode: expected codes [N, ${this.d}, 1, 1], got shape [${z.shape}]`);
    }
    const n = z.shape[0];
    const [c, h, w] = this.imageShape as [number, number, number];
    return tf.tidy(() =>
      tf.reshape(tf.add(tf.matMul(tf.reshape(z, [n, this.d]), rowsT), meanT), [n, c, h, w]),
    );
  }

  /** g(f(x)), the orthogonal projection of x - mean on the components, plus the mean. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.decode(this.encode(x)));
  }

  /**
   * Mean squared error per pixel of the reconstruction of the training set with the first k
   * components, from the spectrum: (sum of eigenvalues k+1..D) / D.
   */
  trainMsePerPixel(k: number = this.d): number {
    if (!Number.isInteger(k) || k < 0 || k > this.dim) {
      throw new Error(`PCA.trainMsePerPixel: k must be an integer in [0, ${this.dim}], got ${k}`);
    }
    let rest = 0;
    for (let i = this.dim - 1; i >= k; i--) rest += this.eigenvalues[i]!;
    return rest / this.dim;
  }

  /** Fraction of the total variance carried by the first k components. */
  explainedVarianceRatio(k: number = this.d): number {
    let total = 0;
    for (let i = 0; i < this.dim; i++) total += this.eigenvalues[i]!;
    return total === 0 ? 1 : 1 - (this.trainMsePerPixel(k) * this.dim) / total;
  }

  /** Frees the tensors; the PCA cannot encode or decode afterwards. */
  dispose(): void {
    this.meanT?.dispose();
    this.basisT?.dispose();
    this.rowsT?.dispose();
    this.meanT = null;
    this.basisT = null;
    this.rowsT = null;
  }

  private tensors(): { meanT: tf.Tensor2D; basisT: tf.Tensor2D; rowsT: tf.Tensor2D } {
    if (this.meanT === null || this.basisT === null || this.rowsT === null) {
      throw new Error("PCA: used after dispose(); fit it again (PCA.fit) or re-run its cell");
    }
    return { meanT: this.meanT, basisT: this.basisT, rowsT: this.rowsT };
  }

  private checkImages(x: tf.Tensor, where: string): void {
    const s = x.shape;
    const [c, h, w] = this.imageShape;
    if (x.rank !== 4 || s[1] !== c || s[2] !== h || s[3] !== w) {
      throw new Error(`PCA.${where}: expected images [N, ${c}, ${h}, ${w}], got shape [${s}]`);
    }
  }
}
