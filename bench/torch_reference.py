"""The lecture's MNIST autoencoder (7.2) trained in PyTorch, the benchmark's reference:
prints one JSON line with ms per step, CPU ms per step and images per second.

Usage: python3 bench/torch_reference.py [--steps N] [--warmup W] [--threads T] [--batch B]
                                        [--device cpu|cuda] [--mnist-dir DIR [--limit N]]
With --mnist-dir: one epoch of 7.2's training cell on MNIST instead (as bench/epoch.ts).
Run it with OPENBLAS_NUM_THREADS=1: torch.set_num_threads(T) then sets the cores it uses
(OpenBLAS would otherwise spin a thread of its own on another core).
"""
import argparse
import gzip
import json
import os
import resource
import struct
import time

import torch
from torch import nn


class AutoEncoder(nn.Module):
    def __init__(self, nb_channels, embedding_dim):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, nb_channels, kernel_size=5),  # 1x28x28 -> 32x24x24
            nn.ReLU(inplace=True),
            nn.Conv2d(nb_channels, nb_channels, kernel_size=5),  # -> 32x20x20
            nn.ReLU(inplace=True),
            nn.Conv2d(nb_channels, nb_channels, kernel_size=4, stride=2),  # -> 32x9x9
            nn.ReLU(inplace=True),
            nn.Conv2d(nb_channels, nb_channels, kernel_size=3, stride=2),  # -> 32x4x4
            nn.ReLU(inplace=True),
            nn.Conv2d(nb_channels, embedding_dim, kernel_size=4),  # -> dx1x1
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(embedding_dim, nb_channels, kernel_size=4),  # -> 32x4x4
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(nb_channels, nb_channels, kernel_size=3, stride=2),  # -> 32x9x9
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(nb_channels, nb_channels, kernel_size=4, stride=2),  # -> 32x20x20
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(nb_channels, nb_channels, kernel_size=5),  # -> 32x24x24
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(nb_channels, 1, kernel_size=5),  # -> 1x28x28
        )

    def forward(self, x):
        return self.decoder(self.encoder(x))


def loss_fn(x, y):
    """The lecture's loss: 0.5 * sum((x - g(f(x)))^2) / N."""
    return 0.5 * (x - y).pow(2).sum() / x.size(0)


def load_images(path, limit):
    """MNIST images from an IDX .gz file, [N, 1, 28, 28] float32 in [0, 1]."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != 2051:
        raise SystemExit(f"{path}: not an IDX image file (magic {magic})")
    n = min(n, limit) if limit else n
    pixels = torch.frombuffer(bytearray(data[16 : 16 + n * rows * cols]), dtype=torch.uint8)
    return pixels.view(n, 1, rows, cols).float() / 255


def timed_steps(args, device):
    """Steps on one random batch: ms per step, as bench/run.ts times ours."""
    model = AutoEncoder(32, 8).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(args.batch, 1, 28, 28, device=device)

    def step():
        loss = loss_fn(x, model(x))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    # loss.item() waits for the GPU: each step is timed to its end, as in our runs.
    for _ in range(args.warmup):
        step()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(args.steps):
        step()
    wall = (time.perf_counter() - wall0) / args.steps
    cpu = (time.process_time() - cpu0) / args.steps
    return {
        "steps": args.steps,
        "msPerStep": wall * 1000,
        "cpuMsPerStep": cpu * 1000,
        "imagesPerSecond": args.batch / wall,
    }


def epoch(args, device):
    """One epoch of 7.2's training cell on MNIST (as bench/epoch.ts), then the test loss."""
    load0 = time.perf_counter()
    train = load_images(os.path.join(args.mnist_dir, "train-images-idx3-ubyte.gz"), args.limit)
    test = load_images(os.path.join(args.mnist_dir, "t10k-images-idx3-ubyte.gz"), args.limit)
    train, test = train.to(device), test.to(device)
    load = time.perf_counter() - load0
    model = AutoEncoder(32, 8).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(train.size(0), generator=torch.Generator().manual_seed(0)).to(device)
    total, steps = 0.0, 0
    wall0 = time.perf_counter()
    for start in range(0, train.size(0), args.batch):
        x = train[order[start : start + args.batch]]
        loss = loss_fn(x, model(x))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * x.size(0)
        steps += 1
    seconds = time.perf_counter() - wall0
    test0 = time.perf_counter()
    with torch.no_grad():
        test_total = sum(
            loss_fn(test[s : s + 500], model(test[s : s + 500])).item() * test[s : s + 500].size(0)
            for s in range(0, test.size(0), 500)
        )
    return {
        "bench": "7.2 epoch",
        "d": 8,
        "images": train.size(0),
        "steps": steps,
        "seconds": seconds,
        "msPerStep": seconds * 1000 / steps,
        "imagesPerSecond": train.size(0) / seconds,
        "trainLoss": total / train.size(0),
        "testLoss": test_total / test.size(0),
        "testImages": test.size(0),
        "testSeconds": time.perf_counter() - test0,
        "loadSeconds": load,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--mnist-dir", help="train one epoch on MNIST from this folder instead")
    parser.add_argument("--limit", type=int, default=0, help="with --mnist-dir: first N images")
    args = parser.parse_args()
    for name in ("steps", "threads", "batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be a positive integer")
    if args.warmup < 0 or args.limit < 0:
        parser.error("--warmup and --limit must be >= 0")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: PyTorch sees no CUDA GPU here")
    if args.mnist_dir is not None and not os.path.isdir(args.mnist_dir):
        parser.error(f"--mnist-dir {args.mnist_dir}: no such folder")

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    gpu = args.device == "cuda"
    result = {
        "backend": f"pytorch {args.device}",
        "detail": f"torch {torch.__version__}" + (f", {torch.cuda.get_device_name()}" if gpu else ""),
        "threads": 1 if gpu else torch.get_num_threads(),
        "device": "gpu" if gpu else "cpu",
        "batch": args.batch,
    }
    result.update(epoch(args, device) if args.mnist_dir else timed_steps(args, device))
    result["peakRssMiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main()
