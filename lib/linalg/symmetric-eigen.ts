/**
 * The exact eigen-decomposition of a real symmetric matrix in Float64: Householder
 * tridiagonalisation then implicit QL (the EISPACK tred2/tql2 pair, as in JAMA). PCA uses
 * it on the pixel covariance; the Frechet distance of 7.4 on feature covariances.
 */
import { throwIfInterrupted } from "../training/interrupt";

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
    if (!Number.isFinite(a[i]!)) {
      throw new Error(`symmetricEigen: entry ${i} is ${a[i]}; the matrix must be finite`);
    }
  }
  // w is the transpose of JAMA's V (the same for the symmetric input): its eigenvectors come out
  // as rows, and the inner loops of both stages run along contiguous rows.
  const w: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    w.push(Float64Array.from({ length: n }, (_, j) => a[i * n + j]!));
  }
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tred2(w, d, e, n);
  tql2(w, d, e, n);
  const q = w;

  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => d[j]! - d[i]!);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, k) => {
    values[k] = d[src]!;
    const row = q[src] as Float64Array;
    let big = 0;
    for (let i = 1; i < n; i++) if (Math.abs(row[i]!) > Math.abs(row[big]!)) big = i;
    const sign = row[big]! < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) vectors[k * n + i] = sign * row[i]!;
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
  for (let j = 0; j < n; j++) d[j] = W(j)[n - 1]!;
  for (let i = n - 1; i > 0; i--) {
    // Seconds at n = 784: Interrupt (kernel) stops it between rows.
    throwIfInterrupted(() => `reducing row ${n - i} of ${n - 1}`);
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = W(j)[i - 1]!;
        W(j)[i] = 0;
        W(i)[j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] = d[k]! / scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      const wi = W(i);
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        wi[j] = f;
        const wj = W(j);
        g = e[j]! + wj[j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const x = wj[k]!;
          g += x * d[k]!;
          e[k] = e[k]! + x * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = e[j]! / h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] = e[j]! - hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        const wj = W(j);
        for (let k = j; k <= i - 1; k++) {
          wj[k] = wj[k]! - (f * e[k]! + g * d[k]!);
        }
        d[j] = wj[i - 1]!;
        wj[i] = 0;
      }
    }
    d[i] = h;
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    throwIfInterrupted(() => `accumulating row ${i + 1} of ${n - 1}`);
    const wi = W(i);
    wi[n - 1] = wi[i]!;
    wi[i] = 1;
    const h = d[i + 1]!;
    const wi1 = W(i + 1);
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = wi1[k]! / h;
      for (let j = 0; j <= i; j++) {
        const wj = W(j);
        let g = 0;
        for (let k = 0; k <= i; k++) g += wi1[k]! * wj[k]!;
        for (let k = 0; k <= i; k++) wj[k] = wj[k]! - g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) wi1[k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = W(j)[n - 1]!;
    W(j)[n - 1] = 0;
  }
  W(n - 1)[n - 1] = 1;
  e[0] = 0;
}

/** Implicit QL on the tridiagonal (d, e); q holds the eigenvectors as rows and is rotated along. */
function tql2(q: Float64Array[], d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    throwIfInterrupted(() => `at eigenvalue ${l + 1} of ${n}`);
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 100)
          throw new Error(`symmetricEigen: QL did not converge for eigenvalue ${l}`);
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          const qi = q[i] as Float64Array;
          const qi1 = q[i + 1] as Float64Array;
          for (let k = 0; k < n; k++) {
            const t = qi1[k]!;
            const u = qi[k]!;
            qi1[k] = s * u + c * t;
            qi[k] = c * u - s * t;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}
