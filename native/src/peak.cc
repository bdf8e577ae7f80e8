// The core's peak: independent fused multiply-adds on full-width vectors, timed. With the
// vector width and the FMA count per cycle it bounds what any kernel can reach on one core.
#include "peak.h"

#include <immintrin.h>

#include <chrono>

namespace dlc7 {
namespace {

constexpr int kChains = 12;  // independent accumulators: enough to hide the FMA latency
constexpr long kIterations = 20'000'000;

__attribute__((target("avx512f"))) double fma512(float* sink) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; i++) acc[i] = _mm512_set1_ps(0.f);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < kIterations; it++) {
    for (int i = 0; i < kChains; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
  for (int i = 1; i < kChains; i++) s = _mm512_add_ps(s, acc[i]);
  float out[16];
  _mm512_storeu_ps(out, s);
  *sink = out[0];
  return 16.0;
}

__attribute__((target("avx2,fma"))) double fma256(float* sink) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; i++) acc[i] = _mm256_set1_ps(0.f);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < kIterations; it++) {
    for (int i = 0; i < kChains; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 s = acc[0];
  for (int i = 1; i < kChains; i++) s = _mm256_add_ps(s, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  *sink = out[0];
  return 8.0;
}

}  // namespace

Peak measurePeak() {
  float sink = 0;
  bool wide = __builtin_cpu_supports("avx512f");
  if (!wide && !__builtin_cpu_supports("fma")) return {0, 0, 0};
  auto t0 = std::chrono::steady_clock::now();
  double lanes = wide ? fma512(&sink) : fma256(&sink);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double flops = 2.0 * lanes * kChains * kIterations;  // an FMA is 2 floating-point operations
  return {flops / seconds / 1e9, static_cast<int>(lanes), sink};
}

}  // namespace dlc7
