// Node-API entry points. Tensors are passed as element offsets into one Float32Array, the wasm
// backend's heap: the kernels read and write the tensors in place, without a copy. Every
// buffer is checked to lie inside the heap before oneDNN touches it.
#include <node_api.h>
#include <pthread.h>
#include <signal.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels.h"
#include "peak.h"

namespace {

using dlc7::Activation;
using dlc7::ConvShape;

struct JsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check(napi_env env, napi_status status, const char* what) {
  if (status != napi_ok) throw JsError(std::string("dlc7 native: cannot read ") + what);
}

struct Args {
  napi_env env;
  size_t count = 10;
  napi_value values[10];
  Args(napi_env e, napi_callback_info info, size_t expected) : env(e) {
    check(env, napi_get_cb_info(env, info, &count, values, nullptr, nullptr), "arguments");
    if (count < expected) {
      throw JsError("dlc7 native: expected " + std::to_string(expected) + " arguments, got " +
                    std::to_string(count));
    }
  }
  int64_t integer(size_t i) const {
    int64_t v;
    check(env, napi_get_value_int64(env, values[i], &v), "an integer argument");
    return v;
  }
  double number(size_t i) const {
    double v;
    check(env, napi_get_value_double(env, values[i], &v), "a number argument");
    return v;
  }
  // A typed array's elements: the heap (Float32Array) or the geometry (Int32Array).
  template <typename T>
  T* array(size_t i, napi_typedarray_type type, size_t* length, const char* what) const {
    napi_typedarray_type actual;
    void* data;
    check(env, napi_get_typedarray_info(env, values[i], &actual, length, &data, nullptr, nullptr),
          what);
    if (actual != type) throw JsError(std::string("dlc7 native: wrong array type for ") + what);
    return static_cast<T*>(data);
  }
};

// The heap and the bounds every buffer is checked against.
struct Heap {
  float* base;
  size_t length;
  Heap(const Args& a, size_t i) {
    base = a.array<float>(i, napi_float32_array, &length, "the heap (a Float32Array)");
  }
  float* at(int64_t offset, int64_t count, const char* what) const {
    if (offset < 0 || count < 0 || static_cast<size_t>(offset + count) > length) {
      throw JsError(std::string("dlc7 native: ") + what + " lies outside the heap");
    }
    return base + offset;
  }
  const float* optional(int64_t offset, int64_t count, const char* what) const {
    return offset < 0 ? nullptr : at(offset, count, what);
  }
};

ConvShape convShape(const Args& a, size_t i) {
  size_t n;
  int32_t* g = a.array<int32_t>(i, napi_int32_array, &n, "the geometry (an Int32Array)");
  if (n != 17) throw JsError("dlc7 native: a convolution geometry has 17 values");
  ConvShape s{g[0], g[1], g[2],  g[3],  g[4],  g[5],  g[6],  g[7], g[8],
              g[9], g[10], g[11], g[12], g[13], g[14], g[15], g[16]};
  for (int k = 0; k < 17; k++) {
    bool padding = k >= 13;
    if (padding ? g[k] < 0 : g[k] < 1) throw JsError("dlc7 native: invalid convolution geometry");
  }
  return s;
}

Activation activation(const Args& a, size_t i) {
  int64_t v = a.integer(i);
  if (v < 0 || v > 5) throw JsError("dlc7 native: unknown activation code");
  return static_cast<Activation>(v);
}

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

// Asynchronous signals wait while a kernel runs: a signal handled in the middle of oneDNN's
// sgemm corrupted the heap (SIGINT, SIGUSR2 or SIGWINCH, as Jupyter's Interrupt sends one:
// "corrupted size vs. prev_size"). Blocked here, they are delivered when the kernel returns;
// OpenMP's threads, started inside a kernel, inherit the mask and never take one. Faults
// (SIGSEGV...) stay deliverable.
class SignalsHeld {
 public:
  SignalsHeld() {
    sigset_t held;
    sigfillset(&held);
    for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT}) sigdelset(&held, s);
    pthread_sigmask(SIG_BLOCK, &held, &previous_);
  }
  ~SignalsHeld() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

 private:
  sigset_t previous_;
};

// Runs body with signals held, turning C++ exceptions (oneDNN's included) into JS errors.
template <typename F>
napi_value guarded(napi_env env, F body) {
  SignalsHeld held;
  try {
    return body();
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (what.rfind("dlc7 native", 0) != 0) what = "dlc7 native (oneDNN): " + what;
    napi_throw_error(env, nullptr, what.c_str());
  } catch (...) {
    napi_throw_error(env, nullptr, "dlc7 native: unknown C++ exception");
  }
  return nullptr;
}

// convForward(heap, geometry, x, w, bias | -1, y, activation, alpha)
napi_value ConvForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 8);
    Heap heap(a, 0);
    ConvShape s = convShape(a, 1);
    const float* x = heap.at(a.integer(2), s.n * s.h * s.w * s.c, "x");
    const float* w = heap.at(a.integer(3), s.kh * s.kw * s.c * s.o, "the filter");
    const float* bias = heap.optional(a.integer(4), s.o, "the bias");
    float* y = heap.at(a.integer(5), s.n * s.oh * s.ow * s.o, "y");
    dlc7::convForward(s, x, w, bias, y, activation(a, 6), static_cast<float>(a.number(7)));
    return undefined(env);
  });
}

// convBackward(heap, geometry, 0, dy, w, dx): the input gradient;
// convBackward(heap, geometry, 1, x, dy, dw): the filter gradient.
napi_value ConvBackward(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 6);
    Heap heap(a, 0);
    ConvShape s = convShape(a, 1);
    const int64_t xs = s.n * s.h * s.w * s.c, ys = s.n * s.oh * s.ow * s.o;
    const int64_t ws = s.kh * s.kw * s.c * s.o;
    if (a.integer(2) == 0) {
      const float* dy = heap.at(a.integer(3), ys, "dy");
      const float* w = heap.at(a.integer(4), ws, "the filter");
      dlc7::convBackwardData(s, dy, w, heap.at(a.integer(5), xs, "dx"));
    } else {
      const float* x = heap.at(a.integer(3), xs, "x");
      const float* dy = heap.at(a.integer(4), ys, "dy");
      dlc7::convBackwardWeights(s, x, dy, heap.at(a.integer(5), ws, "dw"));
    }
    return undefined(env);
  });
}

// matmul(heap, [batch, batchA, batchB, m, n, k, transA, transB], a, b, bias | -1, c,
//        activation, alpha)
napi_value MatMul(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 8);
    Heap heap(a, 0);
    size_t n;
    int32_t* d = a.array<int32_t>(1, napi_int32_array, &n, "the sizes (an Int32Array)");
    if (n != 8) throw JsError("dlc7 native: matmul sizes have 8 values");
    dlc7::MatMulShape s{d[0], d[1], d[2], d[3], d[4], d[5], d[6] != 0, d[7] != 0};
    if (s.batch < 1 || s.m < 1 || s.n < 1 || s.k < 1 || (s.batchA != 1 && s.batchA != s.batch) ||
        (s.batchB != 1 && s.batchB != s.batch)) {
      throw JsError("dlc7 native: invalid matmul sizes");
    }
    const float* lhs = heap.at(a.integer(2), s.batchA * s.m * s.k, "a");
    const float* rhs = heap.at(a.integer(3), s.batchB * s.k * s.n, "b");
    const float* bias = heap.optional(a.integer(4), s.n, "the bias");
    float* out = heap.at(a.integer(5), s.batch * s.m * s.n, "c");
    dlc7::matmul(s, lhs, rhs, out, bias, activation(a, 6), static_cast<float>(a.number(7)));
    return undefined(env);
  });
}

// copyRows(heap, src, srcStride, dst, dstStride, rows, run)
napi_value CopyRows(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 7);
    Heap heap(a, 0);
    int64_t srcStride = a.integer(2), dstStride = a.integer(4);
    int64_t rows = a.integer(5), run = a.integer(6);
    if (rows < 1 || run < 1 || srcStride < run || dstStride < run) {
      throw JsError("dlc7 native: invalid copyRows sizes");
    }
    const float* src = heap.at(a.integer(1), (rows - 1) * srcStride + run, "the source");
    float* dst = heap.at(a.integer(3), (rows - 1) * dstStride + run, "the destination");
    dlc7::copyRows(src, srcStride, dst, dstStride, rows, run);
    return undefined(env);
  });
}

// sumRows(heap, x, rows, cols, out)
napi_value SumRows(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 5);
    Heap heap(a, 0);
    int64_t rows = a.integer(2), cols = a.integer(3);
    if (rows < 1 || cols < 1) throw JsError("dlc7 native: invalid sumRows sizes");
    const float* x = heap.at(a.integer(1), rows * cols, "x");
    float* out = heap.at(a.integer(4), cols, "the sum");
    dlc7::sumRows(x, rows, cols, out);
    return undefined(env);
  });
}

// maxPoolGrad(heap, [n, h, w, c, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl], x, dy, dx)
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 5);
    Heap heap(a, 0);
    size_t n;
    int32_t* g = a.array<int32_t>(1, napi_int32_array, &n, "the pooling geometry (an Int32Array)");
    if (n != 14) throw JsError("dlc7 native: a pooling geometry has 14 values");
    for (int k = 0; k < 14; k++) {
      if (k >= 12 ? g[k] < 0 : g[k] < 1) throw JsError("dlc7 native: invalid pooling geometry");
    }
    dlc7::PoolShape p{g[0], g[1], g[2], g[3], g[4],  g[5],  g[6],
                      g[7], g[8], g[9], g[10], g[11], g[12], g[13]};
    const float* x = heap.at(a.integer(2), p.n * p.h * p.w * p.c, "x");
    const float* dy = heap.at(a.integer(3), p.n * p.oh * p.ow * p.c, "dy");
    float* dx = heap.at(a.integer(4), p.n * p.h * p.w * p.c, "dx");
    dlc7::maxPoolGrad(p, x, dy, dx);
    return undefined(env);
  });
}

napi_value string(napi_env env, const std::string& s) {
  napi_value v;
  napi_create_string_utf8(env, s.c_str(), s.size(), &v);
  return v;
}

napi_value number(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

// info() -> { version: "oneDNN 2.6.3", isa: "AVX-512", threads }
napi_value Info(napi_env env, napi_callback_info) {
  return guarded(env, [&] {
    napi_value o;
    napi_create_object(env, &o);
    napi_set_named_property(env, o, "version", string(env, dlc7::version()));
    napi_set_named_property(env, o, "isa", string(env, dlc7::isa()));
    napi_set_named_property(env, o, "threads", number(env, dlc7::threads()));
    return o;
  });
}

// setThreads(n)
napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 1);
    int64_t n = a.integer(0);
    if (n < 1 || n > 256) throw JsError("dlc7 native: threads must be between 1 and 256");
    dlc7::setThreads(static_cast<int>(n));
    return undefined(env);
  });
}

// peak() -> { gflops, lanes }: one thread's fused multiply-adds per second.
napi_value Peak(napi_env env, napi_callback_info) {
  return guarded(env, [&] {
    dlc7::Peak p = dlc7::measurePeak();
    napi_value o;
    napi_create_object(env, &o);
    napi_set_named_property(env, o, "gflops", number(env, p.gflops));
    napi_set_named_property(env, o, "lanes", number(env, p.lanes));
    return o;
  });
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"convForward", nullptr, ConvForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convBackward", nullptr, ConvBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matmul", nullptr, MatMul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"copyRows", nullptr, CopyRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sumRows", nullptr, SumRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolGrad", nullptr, MaxPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"peak", nullptr, Peak, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
