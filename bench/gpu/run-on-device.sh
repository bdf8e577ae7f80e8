#!/usr/bin/env bash
# The real-GPU run of issue 16, on a device machine without Node or network, from what
# bench/gpu/build-carry.ts put in the carry folder:
#   1. Node, the bundled benchmarks and dawn.node unpacked to a temporary folder; the Vulkan
#      loader unpacked into / if the machine lacks it (as the device README says);
#   2. npm run bench's runs (wasm, webgpu at batch 100 and 1000, PyTorch CPU and CUDA);
#   3. one epoch of 7.2's training cell at d = 8 with the backend initBackend chooses
#      (webgpu on a GPU), and the same epoch in PyTorch on CUDA.
# Figures go to --out: env.txt, bench.log, results.json, epoch-tfjs.json,
# epoch-torch-cuda.json, summary.txt (and run.log, everything).
#
# On the device (device tool): carry [".gpu-carry"], timeout_s 600,
#   bash bench/gpu/run-on-device.sh --carry .gpu-carry --out "$OUT"
# --dry-run checks the carry and prints the plan without running anything (works anywhere).
set -uo pipefail

usage() {
  echo "usage: run-on-device.sh --out DIR [--carry DIR] [--steps N] [--epoch-limit N]" \
    "[--skip-epoch] [--dry-run]"
}
die() {
  echo "run-on-device: $*" >&2
  usage >&2
  exit 2
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
carry="$root/.gpu-carry"
out="${OUT:-}"
steps=10
epoch_limit=""
skip_epoch=0
dry_run=0
while [ $# -gt 0 ]; do
  case "$1" in
    --carry | --out | --steps | --epoch-limit)
      [ $# -ge 2 ] && [ -n "$2" ] && [ "${2#--}" = "$2" ] || die "$1 needs a value"
      case "$1" in
        --carry) carry="$2" ;;
        --out) out="$2" ;;
        --steps) steps="$2" ;;
        --epoch-limit) epoch_limit="$2" ;;
      esac
      shift 2
      ;;
    --skip-epoch) skip_epoch=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
[ -n "$out" ] || die "--out is required (or set OUT)"
[[ "$steps" =~ ^[1-9][0-9]*$ ]] || die "--steps $steps: use a positive integer"
[[ -z "$epoch_limit" || "$epoch_limit" =~ ^[1-9][0-9]*$ ]] ||
  die "--epoch-limit $epoch_limit: use a positive integer"
case "$carry" in /*) ;; *) carry="$root/$carry" ;; esac
for f in node.xz dawn.node.xz app.tar.xz mnist/train-images-idx3-ubyte.gz \
  mnist/t10k-images-idx3-ubyte.gz; do
  [ -s "$carry/$f" ] || die "$carry/$f is missing: run 'npx tsx bench/gpu/build-carry.ts' here first"
done
ls "$carry"/debs/libvulkan1_*.deb >/dev/null 2>&1 || die "$carry/debs has no libvulkan1 .deb"

if [ "$dry_run" = 1 ]; then
  echo "run-on-device: carry $carry ($(du -sh "$carry" | cut -f1)), out $out, $steps steps"
  echo "  unpack node, app, dawn.node; Vulkan loader from $(basename "$carry"/debs/libvulkan1_*.deb) if missing"
  echo "  bench: DLC_BENCH_STEPS=$steps node app/bench.js (wasm, webgpu at 100 and 1000, PyTorch)"
  [ "$skip_epoch" = 1 ] || echo "  epoch${epoch_limit:+ (first $epoch_limit images)}: node app/epoch.js --d 8;" \
    "python3 bench/torch_reference.py --device cuda --mnist-dir"
  exit 0
fi

mkdir -p "$out" || die "cannot create $out"
exec > >(tee "$out/run.log") 2>&1
work="$(mktemp -d /tmp/dlc7-gpu.XXXXXX)"
stage() { echo; echo "== $* ($(date -u +%H:%M:%S))"; }

# Decompresses with xz, or with Python's lzma where xz is not installed.
unxz_to() {
  if command -v xz >/dev/null; then xz -dc "$1" >"$2"; else
    python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' "$1" "$2"
  fi
}

stage "unpack"
unxz_to "$carry/node.xz" "$work/node" && chmod +x "$work/node" || { echo "node: unpack failed"; exit 1; }
if command -v xz >/dev/null; then tar -C "$work" -xJf "$carry/app.tar.xz"; else
  unxz_to "$carry/app.tar.xz" "$work/app.tar" && tar -C "$work" -xf "$work/app.tar"
fi
unxz_to "$carry/dawn.node.xz" "$work/app/node_modules/webgpu/dist/linux-x64/dawn.node"
node="$work/node"
"$node" --version || { echo "the carried node does not run here"; exit 1; }

stage "Vulkan"
# Each carried package is unpacked into / only where its library is missing, and only on a
# GPU machine (this writes into /).
for pair in libvulkan1:libvulkan.so.1 libglvnd0:libGLdispatch.so.0; do
  deb="${pair%%:*}" lib="${pair#*:}"
  if ldconfig -p | grep -qF "$lib"; then
    echo "$lib present"
  elif [ -e /dev/nvidiactl ] || [ -e /dev/nvidia0 ]; then
    echo "unpacking $deb into / for $lib"
    dpkg -x "$carry"/debs/"$deb"_*.deb / && ldconfig
  else
    echo "$lib missing, not installed: no NVIDIA device here (webgpu will say why)"
  fi
done
icds="$(ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json 2>/dev/null || true)"
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -z "$icds" ] && [ -f "$nvidia_icd" ]; then
  export VK_DRIVER_FILES="$nvidia_icd"
fi
if [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ]; then
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi

# The device's python3 is the one with PyTorch (DLC_BENCH_PYTHON overrides).
python="${DLC_BENCH_PYTHON:-python3}"

stage "environment"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
  else
    echo "nvidia-smi: not found"
  fi
  echo "cpu: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
  echo "node: $("$node" --version)"
  echo "$python: $("$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())' 2>&1 | tail -1)"
  echo "vulkan loader: $(ldconfig -p | grep -m1 'libvulkan\.so\.1' || echo none)"
  echo "vulkan ICDs: ${VK_DRIVER_FILES:-$icds}"
} | tee "$out/env.txt"

export MNIST_DIR="$carry/mnist" DLC_BENCH_PYTHON="$python"
stage "bench (DLC_BENCH_STEPS=$steps)"
(cd "$work/app" && DLC_BENCH_STEPS="$steps" timeout 330 "$node" bench.js) 2>&1 | tee "$out/bench.log"
cp "$work/app/build/bench/results.json" "$out/results.json" 2>/dev/null || echo "no results.json"

if [ "$skip_epoch" = 0 ]; then
  limit_args=()
  [ -n "$epoch_limit" ] && limit_args=(--limit "$epoch_limit")
  stage "7.2 epoch, d = 8, tfjs (backend chosen by initBackend)"
  (cd "$work/app" && timeout 150 "$node" epoch.js --d 8 "${limit_args[@]}" \
    --json "$out/epoch-tfjs.json") 2>&1 | tail -5
  stage "7.2 epoch, d = 8, PyTorch CUDA"
  timeout 90 "$python" "$root/bench/torch_reference.py" --device cuda --mnist-dir "$MNIST_DIR" \
    "${limit_args[@]}" >"$out/epoch-torch-cuda.json" || echo "PyTorch epoch failed"
  cat "$out/epoch-torch-cuda.json"
fi

stage "summary"
{
  cat "$out/env.txt"
  echo
  sed -n '/^backend /,$p' "$out/bench.log"
  for f in epoch-tfjs epoch-torch-cuda; do
    [ -s "$out/$f.json" ] && echo "$f: $(cat "$out/$f.json")"
  done
} | tee "$out/summary.txt"
rm -rf "$work"
