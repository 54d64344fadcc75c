#!/usr/bin/env python3
"""Runs bench_loader and the same pipeline in Pillow + PyTorch (what a torchvision user writes:
open PNG, convert to gray, resize to 320x320 with a box filter, random flip, per-image
standardization, 3 channels, stack into a batch of 16) on the same files, with 1 and 2 threads,
and prints images/s with the ratio roentgen / Python (above 1 means roentgen is faster).

    /usr/bin/python3 bench/compare_loader.py [--bench build/bin/bench_loader]
"""
import argparse
import concurrent.futures
import csv
import json
import os
import random
import subprocess
import sys
import time

import numpy as np
import torch
from PIL import Image

SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "nih-sample")


def load(path, rng):
    img = Image.open(path).convert("L").resize((320, 320), Image.BOX)
    x = np.asarray(img, dtype=np.float32)
    if rng.random() < 0.5:
        x = x[:, ::-1]
    x = (x - x.mean()) / (x.std() + 1e-6)
    return torch.from_numpy(np.ascontiguousarray(x)).expand(3, -1, -1)


def python_images_per_second(paths, threads, seconds=3.0):
    rng = random.Random(0)
    done, start = 0, time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        while time.perf_counter() - start < seconds:
            for i in range(0, len(paths), 16):
                batch = list(pool.map(lambda p: load(p, rng), paths[i:i + 16]))
                torch.stack(batch)
                done += len(batch)
    return done / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", default=os.path.join(os.path.dirname(__file__), "..", "build", "bin", "bench_loader"))
    args = parser.parse_args()
    if not os.path.exists(os.path.join(SAMPLE, "train-small.csv")):
        print("needs ../shared/data/nih-sample (the same files on both sides)")
        return 1
    with open(os.path.join(SAMPLE, "train-small.csv")) as f:
        paths = [os.path.join(SAMPLE, "images", row["Image"]) for row in csv.DictReader(f)][:128]
    report = json.loads(subprocess.run([args.bench, "--benchmark_format=json"], check=True,
                                       capture_output=True, text=True).stdout)
    torch.set_num_threads(1)
    print(f"{'threads':>8}{'roentgen img/s':>16}{'Pillow+torch img/s':>20}{'ratio':>8}")
    for bm in report["benchmarks"]:
        threads = int(bm["name"].split("threads:")[1].split("/")[0])
        ours = bm["items_per_second"]
        theirs = python_images_per_second(paths, threads)
        print(f"{threads:>8}{ours:>16.0f}{theirs:>20.0f}{ours / theirs:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
