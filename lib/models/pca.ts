/**
 * PCA as the linear baseline of lecture 7.2, with the autoencoder's interface:
 * encode [N,H,W,C] -> [N,1,1,d], decode back, forward = decode(encode(x)).
 *
 * Fitting: the mean and the D x D covariance (1/N) are accumulated batch by batch with tfjs
 * matMul into Float64 sums, then diagonalised exactly in Float64 JS (Householder
 * tridiagonalisation + implicit QL, the EISPACK tred2/tql2 pair as in JAMA). The full spectrum
 * is kept, so the training reconstruction error of every prefix is known
 * (the PCA identity: mean ||x - g(f(x))||^2 = sum of the discarded eigenvalues).
 */
import * as tf from "@tensorflow/tfjs";

/** Eigen-decomposition of a real symmetric matrix, sorted by decreasing eigenvalue. */
export interface SymmetricEigen {
  /** n eigenvalues, largest first. */
  readonly values: Float64Array;
  /** n x n, row k (vectors[k*n .. k*n+n)) is the unit eigenvector of values[k]. */
  readonly vectors: Float64Array;
}

/**
 * Eigenvalues and eigenvectors of the symmetric n x n matrix `a` (row-major; only its symmetric
 * part is meaningful, it is not checked). Each eigenvector's sign is fixed so that its
 * largest-magnitude component (the first one on a tie) is positive, which makes results
 * reproducible across runs and backends.
 */
export function symmetricEigen(a: ArrayLike<number>, n: number): SymmetricEigen {
  if (!Number.isInteger(n) || n < 1) throw new Error(`symmetricEigen: n must be >= 1, got ${n}`);
  if (a.length !== n * n) {
    throw new Error(`symmetricEigen: expected ${n}x${n} = ${n * n} entries, got ${a.length}`);
  }
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i] as number)) {
      throw new Error(`symmetricEigen: entry ${i} is ${a[i]}; the matrix must be finite`);
    }
  }
  // w is the transpose of JAMA's V (the same for the symmetric input): its eigenvectors come out
  // as rows, and the inner loops of both stages run along contiguous rows.
  const w: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    w.push(Float64Array.from({ length: n }, (_, j) => a[i * n + j] as number));
  }
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tred2(w, d, e, n);
  tql2(w, d, e, n);
  const q = w;

  const order = Array.from({ length: n }, (_, i) => i).sort(
    (i, j) => (d[j] as number) - (d[i] as number),
  );
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, k) => {
    values[k] = d[src] as number;
    const row = q[src] as Float64Array;
    let big = 0;
    for (let i = 1; i < n; i++)
      if (Math.abs(row[i] as number) > Math.abs(row[big] as number)) big = i;
    const sign = (row[big] as number) < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) vectors[k * n + i] = sign * (row[i] as number);
  });
  return { values, vectors };
}

/**
 * Householder reduction to tridiagonal form (diagonal d, subdiagonal e), accumulating the
 * orthogonal transformation. JAMA's tred2 with every V[r][c] read as w[c][r]: on exit the rows of
 * w are the columns of JAMA's V.
 */
function tred2(w: Float64Array[], d: Float64Array, e: Float64Array, n: number): void {
  const W = (i: number): Float64Array => w[i] as Float64Array;
  for (let j = 0; j < n; j++) d[j] = W(j)[n - 1] as number;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k] as number);
    if (scale === 0) {
      e[i] = d[i - 1] as number;
      for (let j = 0; j < i; j++) {
        d[j] = W(j)[i - 1] as number;
        W(j)[i] = 0;
        W(i)[j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] = (d[k] as number) / scale;
        h += (d[k] as number) * (d[k] as number);
      }
      let f = d[i - 1] as number;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      const wi = W(i);
      for (let j = 0; j < i; j++) {
        f = d[j] as number;
        wi[j] = f;
        const wj = W(j);
        g = (e[j] as number) + (wj[j] as number) * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const x = wj[k] as number;
          g += x * (d[k] as number);
          e[k] = (e[k] as number) + x * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = (e[j] as number) / h;
        f += (e[j] as number) * (d[j] as number);
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] = (e[j] as number) - hh * (d[j] as number);
      for (let j = 0; j < i; j++) {
        f = d[j] as number;
        g = e[j] as number;
        const wj = W(j);
        for (let k = j; k <= i - 1; k++) {
          wj[k] = (wj[k] as number) - (f * (e[k] as number) + g * (d[k] as number));
        }
        d[j] = wj[i - 1] as number;
        wj[i] = 0;
      }
    }
    d[i] = h;
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    const wi = W(i);
    wi[n - 1] = wi[i] as number;
    wi[i] = 1;
    const h = d[i + 1] as number;
    const wi1 = W(i + 1);
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = (wi1[k] as number) / h;
      for (let j = 0; j <= i; j++) {
        const wj = W(j);
        let g = 0;
        for (let k = 0; k <= i; k++) g += (wi1[k] as number) * (wj[k] as number);
        for (let k = 0; k <= i; k++) wj[k] = (wj[k] as number) - g * (d[k] as number);
      }
    }
    for (let k = 0; k <= i; k++) wi1[k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = W(j)[n - 1] as number;
    W(j)[n - 1] = 0;
  }
  W(n - 1)[n - 1] = 1;
  e[0] = 0;
}

/** Implicit QL on the tridiagonal (d, e); q holds the eigenvectors as rows and is rotated along. */
function tql2(q: Float64Array[], d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i] as number;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l] as number) + Math.abs(e[l] as number));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m] as number) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 100)
          throw new Error(`symmetricEigen: QL did not converge for eigenvalue ${l}`);
        let g = d[l] as number;
        let p = ((d[l + 1] as number) - g) / (2 * (e[l] as number));
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = (e[l] as number) / (p + r);
        d[l + 1] = (e[l] as number) * (p + r);
        const dl1 = d[l + 1] as number;
        let h = g - (d[l] as number);
        for (let i = l + 2; i < n; i++) d[i] = (d[i] as number) - h;
        f += h;
        p = d[m] as number;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1] as number;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * (e[i] as number);
          h = c * p;
          r = Math.hypot(p, e[i] as number);
          e[i + 1] = s * r;
          s = (e[i] as number) / r;
          c = p / r;
          p = c * (d[i] as number) - s * g;
          d[i + 1] = h + s * (c * g + s * (d[i] as number));
          const qi = q[i] as Float64Array;
          const qi1 = q[i + 1] as Float64Array;
          for (let k = 0; k < n; k++) {
            const t = qi1[k] as number;
            const u = qi[k] as number;
            qi1[k] = s * u + c * t;
            qi[k] = c * u - s * t;
          }
        }
        p = (-s * s2 * c3 * el1 * (e[l] as number)) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l] as number) > eps * tst1);
    }
    d[l] = (d[l] as number) + f;
    e[l] = 0;
  }
}

/**
 * Mean and covariance (divided by N) of data [N, ...] flattened to N x D, accumulated in Float64:
 * the mean in JS, the covariance as a sum of per-batch tfjs matMuls of the centred rows. Reads the
 * data once into JS (one copy of it on backends that keep tensors elsewhere); batches are made
 * from that array, since slicing a large tensor costs ~0.1 s per batch on wasm.
 */
export function meanAndCovariance(
  images: tf.Tensor,
  batchSize = 2000,
): { mean: Float64Array; covariance: Float64Array; n: number; dim: number } {
  if (images.rank < 2 || images.shape[0] === 0) {
    throw new Error(
      `meanAndCovariance: expected [N, ...] data with N >= 1, got shape [${images.shape}]`,
    );
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`meanAndCovariance: batchSize must be a positive integer, got ${batchSize}`);
  }
  const n = images.shape[0] as number;
  const dim = images.size / n;
  const raw = images.dataSync();
  const values = raw instanceof Float32Array ? raw : Float32Array.from(raw as ArrayLike<number>);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const off = i * dim;
    for (let j = 0; j < dim; j++) mean[j] = (mean[j] as number) + (values[off + j] as number);
  }
  for (let j = 0; j < dim; j++) mean[j] = (mean[j] as number) / n;
  // Centre before the product: X^T X - N m m^T would cancel catastrophically in float32.
  const covariance = new Float64Array(dim * dim);
  const meanT = tf.tensor2d(Float32Array.from(mean), [1, dim]);
  try {
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start);
      const part = tf.tidy(() => {
        const rows = values.subarray(start * dim, (start + size) * dim);
        const xc = tf.sub(tf.tensor2d(rows, [size, dim]), meanT);
        // An explicit transpose: matMul's transposeA path is ~9x slower on wasm, ~2x on cpu.
        return tf.matMul(tf.transpose(xc), xc);
      });
      const p = part.dataSync();
      part.dispose();
      for (let j = 0; j < dim * dim; j++) {
        covariance[j] = (covariance[j] as number) + (p[j] as number);
      }
    }
  } finally {
    meanT.dispose();
  }
  for (let j = 0; j < dim * dim; j++) covariance[j] = (covariance[j] as number) / n;
  return { mean, covariance, n, dim };
}

/** A fitted PCA, as plain arrays (what toJSON writes and fromJSON reads). */
export interface PCAJSON {
  readonly kind: "pca";
  readonly version: 1;
  /** Shape of one image, e.g. [28, 28, 1]. */
  readonly imageShape: number[];
  /** Number of training samples. */
  readonly nSamples: number;
  /** Mean image, flattened (D numbers). */
  readonly mean: number[];
  /** d components, each a unit vector of D numbers, by decreasing eigenvalue. */
  readonly components: number[][];
  /** All D eigenvalues of the training covariance (1/N), decreasing. */
  readonly eigenvalues: number[];
}

/** Options of {@link PCA.fit}. */
export interface PCAFitOptions {
  /** Rows per covariance matMul (bounds memory; default 2000). */
  readonly batchSize?: number;
}

/**
 * Principal component analysis of images, with the encode/decode interface of the autoencoder.
 * Fit once at the largest d, then take prefixes with {@link PCA.truncate}.
 */
export class PCA {
  /** Latent dimension d. */
  readonly d: number;
  /** Shape of one image [H, W, C]. */
  readonly imageShape: readonly number[];
  /** D = H * W * C. */
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
    if (!Number.isInteger(this.d) || this.d < 1) {
      throw new Error(
        `PCA: ${components.length} component numbers is not a multiple of D = ${this.dim}`,
      );
    }
    if (mean.length !== this.dim)
      throw new Error(`PCA: mean has ${mean.length} numbers, expected D = ${this.dim}`);
    if (eigenvalues.length !== this.dim) {
      throw new Error(`PCA: ${eigenvalues.length} eigenvalues, expected D = ${this.dim}`);
    }
    this.nSamples = nSamples;
    this.mean = mean;
    this.components = components;
    this.eigenvalues = eigenvalues;
    const basis = new Float32Array(this.dim * this.d);
    for (let k = 0; k < this.d; k++) {
      for (let j = 0; j < this.dim; j++)
        basis[j * this.d + k] = components[k * this.dim + j] as number;
    }
    // keep: a PCA made inside a caller's tf.tidy must outlive it.
    this.meanT = tf.keep(tf.tensor2d(Float32Array.from(mean), [1, this.dim]));
    this.basisT = tf.keep(tf.tensor2d(basis, [this.dim, this.d]));
    this.rowsT = tf.keep(tf.tensor2d(Float32Array.from(components), [this.d, this.dim]));
  }

  /**
   * Fits PCA with d components on images [N, H, W, C]: mean-centred, the top-d eigenvectors of
   * the covariance. Does not dispose `images`.
   */
  static fit(images: tf.Tensor4D, d: number, options: PCAFitOptions = {}): PCA {
    if (images.rank !== 4) {
      throw new Error(`PCA.fit: expected images [N, H, W, C], got shape [${images.shape}]`);
    }
    const [n, h, w, c] = images.shape;
    const dim = h * w * c;
    if (!Number.isInteger(d) || d < 1 || d > dim) {
      throw new Error(`PCA.fit: d must be an integer in [1, ${dim}], got ${d}`);
    }
    if (n < 2) throw new Error(`PCA.fit: need at least 2 images, got ${n}`);
    const batchSize = options.batchSize ?? 2000;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`PCA.fit: batchSize must be a positive integer, got ${batchSize}`);
    }
    const { mean, covariance } = meanAndCovariance(images, batchSize);
    const { values, vectors } = symmetricEigen(covariance, dim);
    // Round-off can leave tiny negative eigenvalues of a semi-definite matrix.
    for (let k = 0; k < dim; k++) values[k] = Math.max(0, values[k] as number);
    return new PCA([h, w, c], n, mean, vectors.slice(0, d * dim), values);
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

  /** f(x): images [N, H, W, C] -> codes [N, 1, 1, d]. */
  encode(x: tf.Tensor4D): tf.Tensor4D {
    const { meanT, basisT } = this.tensors();
    this.checkImages(x, "encode");
    const n = x.shape[0];
    return tf.tidy(() =>
      tf.reshape(tf.matMul(tf.sub(tf.reshape(x, [n, this.dim]), meanT), basisT), [n, 1, 1, this.d]),
    );
  }

  /** g(z): codes [N, 1, 1, d] (or [N, d]) -> images [N, H, W, C]. */
  decode(z: tf.Tensor4D | tf.Tensor2D): tf.Tensor4D {
    const { meanT, rowsT } = this.tensors();
    if (z.size !== (z.shape[0] as number) * this.d || (z.rank !== 4 && z.rank !== 2)) {
      throw new Error(`PCA.decode: expected codes [N, 1, 1, ${this.d}], got shape [${z.shape}]`);
    }
    const n = z.shape[0] as number;
    const [h, w, c] = this.imageShape as [number, number, number];
    return tf.tidy(() =>
      tf.reshape(tf.add(tf.matMul(tf.reshape(z, [n, this.d]), rowsT), meanT), [n, h, w, c]),
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
    for (let i = this.dim - 1; i >= k; i--) rest += this.eigenvalues[i] as number;
    return rest / this.dim;
  }

  /** Fraction of the total variance carried by the first k components. */
  explainedVarianceRatio(k: number = this.d): number {
    let total = 0;
    for (let i = 0; i < this.dim; i++) total += this.eigenvalues[i] as number;
    return total === 0 ? 1 : 1 - (this.trainMsePerPixel(k) * this.dim) / total;
  }

  /** Plain arrays, JSON-serialisable; {@link PCA.fromJSON} restores an equal PCA. */
  toJSON(): PCAJSON {
    const components: number[][] = [];
    for (let k = 0; k < this.d; k++) {
      components.push(Array.from(this.components.subarray(k * this.dim, (k + 1) * this.dim)));
    }
    return {
      kind: "pca",
      version: 1,
      imageShape: [...this.imageShape],
      nSamples: this.nSamples,
      mean: Array.from(this.mean),
      components,
      eigenvalues: Array.from(this.eigenvalues),
    };
  }

  /** Restores a PCA written by {@link PCA.toJSON}; a malformed object is an Error saying what is wrong. */
  static fromJSON(json: unknown): PCA {
    const bad = (what: string): Error =>
      new Error(
        `PCA.fromJSON: ${what}; expected the object written by PCA.toJSON() (refit the PCA)`,
      );
    if (typeof json !== "object" || json === null) throw bad("not an object");
    const o = json as Partial<Record<keyof PCAJSON, unknown>>;
    if (o.kind !== "pca" || o.version !== 1)
      throw bad(`kind/version is ${String(o.kind)}/${String(o.version)}`);
    const numbers = (x: unknown, name: string): Float64Array => {
      if (!Array.isArray(x) || !x.every((v) => typeof v === "number" && Number.isFinite(v))) {
        throw bad(`${name} is not an array of finite numbers`);
      }
      return Float64Array.from(x as number[]);
    };
    const shape = numbers(o.imageShape, "imageShape");
    if (shape.length !== 3 || !shape.every((s) => Number.isInteger(s) && s > 0)) {
      throw bad(`imageShape [${Array.from(shape)}] is not [H, W, C]`);
    }
    const dim = shape.reduce((a, b) => a * b, 1);
    if (typeof o.nSamples !== "number" || !Number.isInteger(o.nSamples) || o.nSamples < 1)
      throw bad("bad nSamples");
    if (!Array.isArray(o.components) || o.components.length < 1) throw bad("no components");
    const comps = o.components.map((row, k) => numbers(row, `components[${k}]`));
    if (comps.some((row) => row.length !== dim))
      throw bad(`a component does not have D = ${dim} numbers`);
    const components = new Float64Array(comps.length * dim);
    comps.forEach((row, k) => components.set(row, k * dim));
    return new PCA(
      Array.from(shape),
      o.nSamples,
      numbers(o.mean, "mean"),
      components,
      numbers(o.eigenvalues, "eigenvalues"),
    );
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
      throw new Error("PCA: used after dispose()");
    }
    return { meanT: this.meanT, basisT: this.basisT, rowsT: this.rowsT };
  }

  private checkImages(x: tf.Tensor, where: string): void {
    const s = x.shape;
    if (
      x.rank !== 4 ||
      s[1] !== this.imageShape[0] ||
      s[2] !== this.imageShape[1] ||
      s[3] !== this.imageShape[2]
    ) {
      throw new Error(
        `PCA.${where}: expected images [N, ${this.imageShape.join(", ")}], got shape [${s}]`,
      );
    }
  }
}
