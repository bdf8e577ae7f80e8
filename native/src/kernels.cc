// oneDNN behind the addon. Activations stay in tfjs's NHWC ("nhwc" to oneDNN), so a call reads
// and writes the tensors where they lie; only the small filters are reordered to the blocked
// layout oneDNN's AVX-512 kernels choose ("any"). Primitives are built once per geometry.
#include "kernels.h"

#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <tuple>
#include <vector>

namespace dlc7 {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& stream() {
  static dnnl::stream s(engine());
  return s;
}

memory::desc images(int64_t n, int64_t c, int64_t h, int64_t w) {
  return memory::desc({n, c, h, w}, dt::f32, tag::nhwc);
}

// tfjs filters [kh, kw, C, O] are oneDNN's "hwio".
memory::desc userFilter(const ConvShape& s) {
  return memory::desc({s.o, s.c, s.kh, s.kw}, dt::f32, tag::hwio);
}

memory::desc anyFilter(const ConvShape& s) {
  return memory::desc({s.o, s.c, s.kh, s.kw}, dt::f32, tag::any);
}

using Key = std::tuple<int, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int, float>;

Key key(int kind, const ConvShape& s, Activation act = Activation::linear, float alpha = 0,
        bool bias = false) {
  return {kind, s.n, s.h, s.w, s.c, s.o, s.kh, s.kw, s.oh, s.ow, s.sh, s.sw, s.dh, s.dw, s.pt,
          s.pl, s.pb + (bias ? 1 << 20 : 0), s.pr, static_cast<int>(act), alpha};
}

// Strides, dilations (oneDNN counts them from 0) and padding, as every descriptor takes them.
struct Geometry {
  memory::dims strides, dilates, padL, padR;
  explicit Geometry(const ConvShape& s)
      : strides{s.sh, s.sw}, dilates{s.dh - 1, s.dw - 1}, padL{s.pt, s.pl}, padR{s.pb, s.pr} {}
};

// The forward descriptor: also the hint the backward primitives are built from.
dnnl::convolution_forward::desc forwardDesc(const ConvShape& s, bool bias) {
  const auto [strides, dilates, padL, padR] = Geometry(s);
  auto src = images(s.n, s.c, s.h, s.w);
  auto dst = images(s.n, s.o, s.oh, s.ow);
  if (bias) {
    memory::desc b({s.o}, dt::f32, tag::x);
    return {dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src,
            anyFilter(s), b, dst, strides, dilates, padL, padR};
  }
  return {dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src,
          anyFilter(s), dst, strides, dilates, padL, padR};
}

dnnl::algorithm eltwise(Activation act) {
  switch (act) {
    case Activation::relu: return dnnl::algorithm::eltwise_relu;
    case Activation::relu6: return dnnl::algorithm::eltwise_clip;
    case Activation::leakyrelu: return dnnl::algorithm::eltwise_relu;
    case Activation::sigmoid: return dnnl::algorithm::eltwise_logistic;
    case Activation::elu: return dnnl::algorithm::eltwise_elu;
    default: throw std::invalid_argument("no eltwise for a linear activation");
  }
}

dnnl::primitive_attr activationAttr(Activation act, float alpha) {
  dnnl::primitive_attr attr;
  if (act != Activation::linear) {
    dnnl::post_ops ops;
    float a = act == Activation::leakyrelu ? alpha : act == Activation::elu ? 1.f : 0.f;
    float b = act == Activation::relu6 ? 6.f : 0.f;
    ops.append_eltwise(1.f, eltwise(act), a, b);
    attr.set_post_ops(ops);
  }
  return attr;
}

// A filter reorder between the user's layout and oneDNN's, or none when they are the same.
// The user's side points at the caller's buffer; oneDNN's side is a buffer of its own.
struct Reorder {
  std::unique_ptr<dnnl::reorder> prim;
  memory user, blocked;
  enum Direction { toBlocked, fromBlocked };
  Reorder(const memory::desc& userDesc, const memory::desc& blockedDesc, Direction dir) {
    if (userDesc == blockedDesc) return;
    user = memory(userDesc, engine(), nullptr);
    blocked = memory(blockedDesc, engine());
    prim = dir == toBlocked ? std::make_unique<dnnl::reorder>(user, blocked)
                            : std::make_unique<dnnl::reorder>(blocked, user);
  }
  void run() { prim->execute(stream(), user, blocked); }
  void runBack() { prim->execute(stream(), blocked, user); }
};

struct Forward {
  dnnl::convolution_forward prim;
  memory src, weights, bias, dst;
  Reorder filter;  // the user's filter -> oneDNN's layout
};

struct BackwardData {
  dnnl::convolution_backward_data prim;
  memory diffSrc, weights, diffDst;
  Reorder filter;
};

struct BackwardWeights {
  dnnl::convolution_backward_weights prim;
  memory src, diffWeights, diffDst;
  Reorder filter;  // oneDNN's filter gradient -> the user's layout
};

template <typename T>
T& cached(std::map<Key, std::unique_ptr<T>>& cache, const Key& k, T* (*make)(const ConvShape&,
                                                                               Activation, float,
                                                                               bool),
          const ConvShape& s, Activation act, float alpha, bool bias) {
  auto it = cache.find(k);
  if (it != cache.end()) return *it->second;
  auto& slot = cache[k];
  slot.reset(make(s, act, alpha, bias));
  return *slot;
}

Forward* makeForward(const ConvShape& s, Activation act, float alpha, bool bias) {
  auto pd = dnnl::convolution_forward::primitive_desc(forwardDesc(s, bias),
                                                      activationAttr(act, alpha), engine());
  auto* f = new Forward{dnnl::convolution_forward(pd), memory(pd.src_desc(), engine(), nullptr),
                        memory(pd.weights_desc(), engine(), nullptr), memory(),
                        memory(pd.dst_desc(), engine(), nullptr),
                        Reorder(userFilter(s), pd.weights_desc(), Reorder::toBlocked)};
  if (bias) f->bias = memory(pd.bias_desc(), engine(), nullptr);
  return f;
}

// A backward primitive's descriptor (Desc: backward data or backward weights), forward's hint.
template <typename Primitive>
typename Primitive::primitive_desc backwardPd(const ConvShape& s) {
  auto hint = dnnl::convolution_forward::primitive_desc(forwardDesc(s, false), engine());
  const auto [strides, dilates, padL, padR] = Geometry(s);
  typename Primitive::desc d(dnnl::algorithm::convolution_direct, images(s.n, s.c, s.h, s.w),
                             anyFilter(s), images(s.n, s.o, s.oh, s.ow), strides, dilates, padL,
                             padR);
  return typename Primitive::primitive_desc(d, engine(), hint);
}

BackwardData* makeBackwardData(const ConvShape& s, Activation, float, bool) {
  auto pd = backwardPd<dnnl::convolution_backward_data>(s);
  return new BackwardData{dnnl::convolution_backward_data(pd),
                          memory(pd.diff_src_desc(), engine(), nullptr),
                          memory(pd.weights_desc(), engine(), nullptr),
                          memory(pd.diff_dst_desc(), engine(), nullptr),
                          Reorder(userFilter(s), pd.weights_desc(), Reorder::toBlocked)};
}

BackwardWeights* makeBackwardWeights(const ConvShape& s, Activation, float, bool) {
  auto pd = backwardPd<dnnl::convolution_backward_weights>(s);
  return new BackwardWeights{dnnl::convolution_backward_weights(pd),
                             memory(pd.src_desc(), engine(), nullptr),
                             memory(pd.diff_weights_desc(), engine(), nullptr),
                             memory(pd.diff_dst_desc(), engine(), nullptr),
                             Reorder(userFilter(s), pd.diff_weights_desc(), Reorder::fromBlocked)};
}

std::map<Key, std::unique_ptr<Forward>> forwards;
std::map<Key, std::unique_ptr<BackwardData>> backwardDatas;
std::map<Key, std::unique_ptr<BackwardWeights>> backwardWeights;

void* mut(const float* p) { return const_cast<float*>(p); }

// The user's filter in the layout the primitive reads (a reorder when they differ).
memory& filterIn(Reorder& r, memory& primFilter, const float* w) {
  if (!r.prim) {
    primFilter.set_data_handle(mut(w));
    return primFilter;
  }
  r.user.set_data_handle(mut(w));
  r.run();
  return r.blocked;
}

}  // namespace

void convForward(const ConvShape& s, const float* x, const float* w, const float* bias, float* y,
                 Activation act, float alpha) {
  bool hasBias = bias != nullptr;
  auto& f = cached(forwards, key(0, s, act, alpha, hasBias), makeForward, s, act, alpha, hasBias);
  memory& weights = filterIn(f.filter, f.weights, w);
  f.src.set_data_handle(mut(x));
  f.dst.set_data_handle(y);
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, f.src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, f.dst}};
  if (hasBias) {
    f.bias.set_data_handle(mut(bias));
    args[DNNL_ARG_BIAS] = f.bias;
  }
  f.prim.execute(stream(), args);
  stream().wait();
}

namespace {

// Up to this many input channels, dx is a matrix product and a scatter (below): oneDNN's
// kernels run a 1-channel dx (a decoder's last transposed convolution) at 5% of the peak.
constexpr int64_t kThinChannels = 4;

// dx = col2im(dy w^T): the matrix product gives every tap's contribution [pixels, kh kw C],
// which is added into place: the weighted sum of translated kernels of lecture 7.1.
void convBackwardDataThin(const ConvShape& s, const float* dy, const float* w, float* dx) {
  const int64_t taps = s.kh * s.kw * s.c, pixels = s.oh * s.ow, plane = s.h * s.w * s.c;
  // Images per matrix product: at most 4 M floats of contributions at a time.
  const int64_t chunk = std::max<int64_t>(1, (int64_t{1} << 22) / (pixels * taps));
  std::vector<float> cols(static_cast<size_t>(std::min(chunk, s.n) * pixels * taps));
  for (int64_t n0 = 0; n0 < s.n; n0 += chunk) {
    const int64_t count = std::min(chunk, s.n - n0);
    // cols [count * pixels, taps] = dy [count * pixels, O] w^T, w being [taps, O].
    auto status = dnnl_sgemm('N', 'T', count * pixels, taps, s.o, 1.f, dy + n0 * pixels * s.o,
                             s.o, w, s.o, 0.f, cols.data(), taps);
    if (status != dnnl_success) throw std::runtime_error("dnnl_sgemm failed");
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < count; k++) {
      float* out = dx + (n0 + k) * plane;
      std::fill(out, out + plane, 0.f);
      const float* from = cols.data() + k * pixels * taps;
      for (int64_t i = 0; i < s.oh; i++) {
        for (int64_t j = 0; j < s.ow; j++, from += taps) {
          for (int64_t a = 0; a < s.kh; a++) {
            const int64_t r = i * s.sh + a * s.dh - s.pt;
            if (r < 0 || r >= s.h) continue;
            for (int64_t b = 0; b < s.kw; b++) {
              const int64_t q = j * s.sw + b * s.dw - s.pl;
              if (q < 0 || q >= s.w) continue;
              const float* tap = from + (a * s.kw + b) * s.c;
              float* to = out + (r * s.w + q) * s.c;
              for (int64_t c = 0; c < s.c; c++) to[c] += tap[c];
            }
          }
        }
      }
    }
  }
}

}  // namespace

void convBackwardData(const ConvShape& s, const float* dy, const float* w, float* dx) {
  if (s.c <= kThinChannels) return convBackwardDataThin(s, dy, w, dx);
  auto& b = cached(backwardDatas, key(1, s), makeBackwardData, s, Activation::linear, 0, false);
  memory& weights = filterIn(b.filter, b.weights, w);
  b.diffDst.set_data_handle(mut(dy));
  b.diffSrc.set_data_handle(dx);
  b.prim.execute(stream(), {{DNNL_ARG_DIFF_DST, b.diffDst},
                            {DNNL_ARG_WEIGHTS, weights},
                            {DNNL_ARG_DIFF_SRC, b.diffSrc}});
  stream().wait();
}

void convBackwardWeights(const ConvShape& s, const float* x, const float* dy, float* dw) {
  auto& b =
      cached(backwardWeights, key(2, s), makeBackwardWeights, s, Activation::linear, 0, false);
  b.src.set_data_handle(mut(x));
  b.diffDst.set_data_handle(mut(dy));
  Reorder& r = b.filter;
  if (r.prim) {
    r.user.set_data_handle(dw);
  } else {
    b.diffWeights.set_data_handle(dw);
  }
  b.prim.execute(stream(), {{DNNL_ARG_SRC, b.src},
                            {DNNL_ARG_DIFF_DST, b.diffDst},
                            {DNNL_ARG_DIFF_WEIGHTS, r.prim ? r.blocked : b.diffWeights}});
  if (r.prim) r.runBack();
  stream().wait();
}

namespace {

float activate(float v, Activation act, float alpha) {
  switch (act) {
    case Activation::linear: return v;
    case Activation::relu: return v > 0 ? v : 0;
    case Activation::relu6: return v < 0 ? 0 : v > 6 ? 6 : v;
    case Activation::leakyrelu: return v > 0 ? v : alpha * v;
    case Activation::sigmoid: return 1 / (1 + std::exp(-v));
    case Activation::elu: return v > 0 ? v : std::expm1(v);
  }
  return v;
}

}  // namespace

void matmul(const MatMulShape& s, const float* a, const float* b, float* c, const float* bias,
            Activation act, float alpha) {
  int64_t batch = s.batch, m = s.m, n = s.n, k = s.k;
  bool transA = s.transA, transB = s.transB;
  for (int64_t i = 0; i < batch; i++) {
    const float* ai = a + (s.batchA == 1 ? 0 : i) * m * k;
    const float* bi = b + (s.batchB == 1 ? 0 : i) * k * n;
    float* ci = c + i * m * n;
    auto status = dnnl_sgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', m, n, k, 1.f, ai,
                             transA ? m : k, bi, transB ? k : n, 0.f, ci, n);
    if (status != dnnl_success) throw std::runtime_error("dnnl_sgemm failed");
  }
  if (bias == nullptr && act == Activation::linear) return;
  int64_t rows = batch * m;
#pragma omp parallel for
  for (int64_t r = 0; r < rows; r++) {
    float* row = c + r * n;
    for (int64_t j = 0; j < n; j++) {
      row[j] = activate(bias != nullptr ? row[j] + bias[j] : row[j], act, alpha);
    }
  }
}

std::string version() {
  const dnnl_version_t* v = dnnl_version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch);
}

std::string isa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "SSE4.1";
    case dnnl::cpu_isa::avx: return "AVX";
    case dnnl::cpu_isa::avx2: return "AVX2";
    case dnnl::cpu_isa::avx2_vnni: return "AVX2";
    case dnnl::cpu_isa::avx512_core: return "AVX-512";
    case dnnl::cpu_isa::avx512_core_vnni: return "AVX-512";
    case dnnl::cpu_isa::avx512_core_bf16: return "AVX-512";
    case dnnl::cpu_isa::avx512_core_amx: return "AVX-512 with AMX";
    default: return "no vector ISA";
  }
}

int threads() { return omp_get_max_threads(); }

void setThreads(int n) { omp_set_num_threads(n); }

}  // namespace dlc7
