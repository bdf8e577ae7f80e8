"""The benchmark's models (7.2's autoencoder, 7.3's U-Net, 7.4's VAE) trained in PyTorch, its
reference: prints one JSON line with ms per step, CPU ms per step and images per second.

Usage: python3 bench/torch_reference.py [--model autoencoder|unet|vae] [--steps N] [--warmup W]
                                        [--threads T] [--batch B] [--device cpu|cuda]
                                        [--mnist-dir DIR [--limit N]]
With --mnist-dir: one epoch of 7.2's training cell on MNIST instead (as bench/epoch.ts).
Run it with OPENBLAS_NUM_THREADS=1: torch.set_num_threads(T) then sets the cores it uses
(OpenBLAS would otherwise spin a thread of its own on another core).
"""
import argparse
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures"))
from lecture7_torch import UNet, VAE, AutoEncoder, ae_loss, mnist, vae_losses  # noqa: E402


def model_and_loss(name):
    """The bench's three models (bench/models.ts) and each one's training loss on a batch x."""
    if name == "autoencoder":
        model = AutoEncoder(32, 8)
        return model, lambda x: ae_loss(x, model(x))
    if name == "unet":
        model = UNet(48, 64, 32)
        return model, lambda x: (model(x) - x).pow(2).mean()
    model = VAE(32, 32)

    def loss(x):
        kl_loss, fit_loss, _ = vae_losses(model, x)
        return kl_loss + fit_loss

    return model, loss


def timed_steps(args, device):
    """Steps on one random batch: ms per step, as bench/run.ts times ours."""
    model, loss_fn = model_and_loss(args.model)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(args.batch, 1, 28, 28, device=device)

    def step():
        loss = loss_fn(x)
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
    train = mnist(args.mnist_dir, "train", args.limit)[0]
    test = mnist(args.mnist_dir, "test", args.limit)[0]
    train, test = train.to(device), test.to(device)
    load = time.perf_counter() - load0
    model = AutoEncoder(32, 8).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(train.size(0), generator=torch.Generator().manual_seed(0)).to(device)
    total, steps = 0.0, 0
    wall0 = time.perf_counter()
    for start in range(0, train.size(0), args.batch):
        x = train[order[start : start + args.batch]]
        loss = ae_loss(x, model(x))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * x.size(0)
        steps += 1
    seconds = time.perf_counter() - wall0
    test0 = time.perf_counter()
    with torch.no_grad():
        test_total = sum(
            ae_loss(test[s : s + 500], model(test[s : s + 500])).item() * test[s : s + 500].size(0)
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
    parser.add_argument("--model", choices=["autoencoder", "unet", "vae"], default="autoencoder")
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
        "model": args.model,
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
