"""The lecture's MNIST autoencoder (7.2) trained in PyTorch on one thread, for the
benchmark's reference: prints one JSON line with ms per step and images per second.

Usage: python3 bench/torch_reference.py [--steps N] [--warmup W] [--threads T]
"""
import argparse
import json
import resource
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = AutoEncoder(32, 8)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(args.batch, 1, 28, 28)

    def step():
        y = model(x)
        loss = 0.5 * (x - y).pow(2).sum() / x.size(0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(args.steps):
        step()
    wall = (time.perf_counter() - wall0) / args.steps
    cpu = (time.process_time() - cpu0) / args.steps
    print(
        json.dumps(
            {
                "backend": f"pytorch {torch.__version__} cpu",
                "threads": torch.get_num_threads(),
                "steps": args.steps,
                "msPerStep": wall * 1000,
                "cpuMsPerStep": cpu * 1000,
                "imagesPerSecond": args.batch / wall,
                "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
