{
  "targets": [
    {
      "target_name": "dlc7_native",
      "sources": ["src/addon.cc", "src/kernels.cc", "src/memory_bound.cc", "src/peak.cc"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=native", "-fopenmp", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ldnnl"]
    }
  ]
}
