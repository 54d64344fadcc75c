#!/usr/bin/env python3
"""Runs bench_densenet and torchvision's densenet121 (eval, no_grad, float32, same thread count)
in the same run, and prints images/s with the ratio roentgen / PyTorch (above 1: roentgen faster).

    /usr/bin/python3 bench/compare_densenet.py [--bench build/bin/bench_densenet]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch
import torchvision


def torch_images_per_second(model, size, batch, seconds=3.0):
    x = torch.randn(batch, 3, size, size)
    with torch.no_grad():
        model(x)
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            model(x)
            done += batch
    return done / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", default=os.path.join(os.path.dirname(__file__), "..", "build", "bin", "bench_densenet"))
    args = p.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count()))
    torch.set_num_threads(threads)
    report = json.loads(subprocess.run([args.bench, "--benchmark_format=json"], check=True, capture_output=True,
                                       text=True, env={**os.environ, "OMP_NUM_THREADS": str(threads)}).stdout)
    model = torchvision.models.densenet121(weights=None, num_classes=14).eval()
    print(f"{threads} threads, PyTorch {torch.__version__}")
    print(f"{'size':>6}{'batch':>7}{'roentgen img/s':>16}{'PyTorch img/s':>15}{'ratio':>8}")
    for bm in report["benchmarks"]:
        size = int(bm["name"].split("size:")[1].split("/")[0])
        batch = int(bm["name"].split("batch:")[1].split("/")[0])
        ours = bm["items_per_second"]
        theirs = torch_images_per_second(model, size, batch)
        print(f"{size:>6}{batch:>7}{ours:>16.2f}{theirs:>15.2f}{ours / theirs:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
