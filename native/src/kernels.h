// The addon's kernels on raw float32 buffers, in tfjs's layouts (images NHWC, filters
// [kh, kw, C, O]): oneDNN's convolutions (forward with bias and activation fused, backward
// data, backward weights) and matrix products (kernels.cc), and the memory-bound copies,
// sums and pooling gradient around them (memory_bound.cc).
#pragma once
#include <cstdint>
#include <string>

namespace dlc7 {

// A 2-D convolution's geometry: y[n, i, j, o] = sum x[n, i*sh + a*dh - pt, j*sw + b*dw - pl, c]
// * w[a, b, c, o]. Dilation 1 means contiguous taps (oneDNN counts dilation - 1).
struct ConvShape {
  int64_t n, h, w, c;      // input images
  int64_t o, kh, kw;       // filter
  int64_t oh, ow;          // output images
  int64_t sh, sw, dh, dw;  // strides, dilations
  int64_t pt, pl, pb, pr;  // padding; pb, pr may be more than needed (the last rows are ignored)
};

enum class Activation { linear = 0, relu = 1, relu6 = 2, leakyrelu = 3, sigmoid = 4, elu = 5 };

// y = activation(conv(x, w) + bias); bias may be null.
void convForward(const ConvShape& s, const float* x, const float* w, const float* bias, float* y,
                 Activation act, float alpha);
// dx = the gradient of conv(x, w) with respect to x, given dy (also conv2dTranspose's forward).
void convBackwardData(const ConvShape& s, const float* dy, const float* w, float* dx);
// dw = the gradient of conv(x, w) with respect to w, given dy.
void convBackwardWeights(const ConvShape& s, const float* x, const float* dy, float* dw);

// c[i] = op(a[i]) op(b[i]) for i < batch, row-major: a is [batchA, m, k] ([batchA, k, m] when
// transA), b is [batchB, k, n] ([batchB, n, k] when transB); a batch of 1 is broadcast.
struct MatMulShape {
  int64_t batch, batchA, batchB, m, n, k;
  bool transA, transB;
};

// c = activation(a b + bias); bias (null or [n]) is added to every row.
void matmul(const MatMulShape& s, const float* a, const float* b, float* c, const float* bias,
            Activation act, float alpha);

// dst[r * dstStride + i] = src[r * srcStride + i] for r < rows, i < run: a split or a concat.
void copyRows(const float* src, int64_t srcStride, float* dst, int64_t dstStride, int64_t rows,
              int64_t run);
// out[c] = sum over r of x[r * cols + c]: a sum over leading axes (a bias gradient).
void sumRows(const float* x, int64_t rows, int64_t cols, float* out);

// A 2-D pooling window's geometry on NHWC images (kh, kw taps dh, dw apart).
struct PoolShape {
  int64_t n, h, w, c, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl;
};
// dx: dy[n, i, j, c] added at the first maximum of its window in x.
void maxPoolGrad(const PoolShape& p, const float* x, const float* dy, float* dx);

// "oneDNN 2.6.3", "avx512_core_bf16", the threads oneDNN uses.
std::string version();
std::string isa();
int threads();
void setThreads(int n);

}  // namespace dlc7
