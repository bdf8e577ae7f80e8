// The kernels whose time goes to memory, not arithmetic: block copies (split, concat), sums
// over leading axes (bias gradients) and the max-pool gradient. Threads split the rows.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels.h"

namespace dlc7 {

void copyRows(const float* src, int64_t srcStride, float* dst, int64_t dstStride, int64_t rows,
              int64_t run) {
#pragma omp parallel for schedule(static) if (rows * run > 1 << 16)
  for (int64_t r = 0; r < rows; r++) {
    std::memcpy(dst + r * dstStride, src + r * srcStride, run * sizeof(float));
  }
}

void sumRows(const float* x, int64_t rows, int64_t cols, float* out) {
  // Partial sums per thread in double (as the JavaScript kernel), added in thread order.
  int threads = rows * cols > 1 << 16 ? omp_get_max_threads() : 1;
  std::vector<double> partial(static_cast<size_t>(threads) * cols, 0.0);
#pragma omp parallel num_threads(threads)
  {
    int t = omp_get_thread_num();
    int used = omp_get_num_threads();
    double* acc = partial.data() + static_cast<size_t>(t) * cols;
    int64_t begin = rows * t / used, end = rows * (t + 1) / used;
    for (int64_t r = begin; r < end; r++) {
      const float* row = x + r * cols;
      for (int64_t c = 0; c < cols; c++) acc[c] += row[c];
    }
  }
  for (int64_t c = 0; c < cols; c++) {
    double s = 0;
    for (int t = 0; t < threads; t++) s += partial[static_cast<size_t>(t) * cols + c];
    out[c] = static_cast<float>(s);
  }
}

void maxPoolGrad(const PoolShape& p, const float* x, const float* dy, float* dx) {
  const int64_t plane = p.h * p.w * p.c;
  // One image per iteration: windows of different images never share an input pixel.
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < p.n; n++) {
    const float* xn = x + n * plane;
    float* dxn = dx + n * plane;
    std::fill(dxn, dxn + plane, 0.f);
    for (int64_t i = 0; i < p.oh; i++) {
      for (int64_t j = 0; j < p.ow; j++) {
        const float* g = dy + ((n * p.oh + i) * p.ow + j) * p.c;
        for (int64_t c = 0; c < p.c; c++) {
          // dy goes to the window's first maximum, as tfjs's cpu backend routes it.
          float best = -__builtin_inff();
          int64_t at = -1;
          for (int64_t a = 0; a < p.kh; a++) {
            int64_t r = i * p.sh + a * p.dh - p.pt;
            if (r < 0 || r >= p.h) continue;
            for (int64_t b = 0; b < p.kw; b++) {
              int64_t q = j * p.sw + b * p.dw - p.pl;
              if (q < 0 || q >= p.w) continue;
              int64_t k = (r * p.w + q) * p.c + c;
              if (xn[k] > best) {
                best = xn[k];
                at = k;
              }
            }
          }
          if (at >= 0) dxn[at] += g[c];
        }
      }
    }
  }
}

}  // namespace dlc7
