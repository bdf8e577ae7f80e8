#pragma once

namespace dlc7 {

struct Peak {
  double gflops;  // measured on one thread
  int lanes;      // float32 lanes of the widest vector with FMA (16: AVX-512, 8: AVX2)
  float sink;     // the computation's result, so that it is not optimised away
};

Peak measurePeak();

}  // namespace dlc7
