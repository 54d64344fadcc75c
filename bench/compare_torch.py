#!/usr/bin/env python3
"""Runs roentgen's kernel benchmarks and the same operations in PyTorch, in one process run,
and prints the times side by side with their ratio (roentgen / PyTorch: below 1 is faster).

    bench/compare_torch.py [--bench build/bin/bench_kernels] [--device cpu|cuda]

Needs PyTorch (Debian: apt-get install python3-torch; run with /usr/bin/python3).
Both sides use the same number of threads (OMP_NUM_THREADS, default: all cores).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch


def torch_time(fn, device, min_seconds=0.5):
    """Median seconds per call of fn() (after a warm-up), synchronizing CUDA."""
    def sync():
        if device == "cuda":
            torch.cuda.synchronize()
    fn(); sync()
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < min_seconds or len(times) < 3:
        t0 = time.perf_counter()
        fn(); sync()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def torch_case(name, n, device):
    g = torch.Generator(device="cpu").manual_seed(0)
    if name == "BM_Add":
        a, b = (torch.rand(n, generator=g).to(device) for _ in range(2))
        out = torch.empty_like(a)
        return lambda: torch.add(a, b, out=out)
    if name == "BM_Sum":
        x = torch.rand(n, generator=g).to(device)
        return lambda: x.sum()
    if name == "BM_Matmul":
        a, b = (torch.rand(n, n, generator=g).to(device) for _ in range(2))
        out = torch.empty(n, n, device=device)
        return lambda: torch.mm(a, b, out=out)
    raise ValueError(name)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", default=os.path.join(os.path.dirname(__file__), "..", "build", "bin", "bench_kernels"))
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()

    threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count()))
    torch.set_num_threads(threads)
    engine = 0 if args.device == "cpu" else 2
    result = subprocess.run(
        [args.bench, f"--benchmark_filter=/engine:{engine}/", "--benchmark_format=json"],
        check=True, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    report = json.loads(result.stdout)

    print(f"device {args.device}, {threads} threads, PyTorch {torch.__version__}")
    print(f"{'benchmark':<14}{'n':>10}{'roentgen ms':>14}{'PyTorch ms':>12}{'ratio':>8}")
    for bm in report["benchmarks"]:
        if bm.get("error_occurred"):
            print(f"{bm['name']}: skipped ({bm.get('error_message')})")
            continue
        name, rest = bm["name"].split("/", 1)
        n = int(rest.split("n:")[1].split("/")[0])
        ours = bm["real_time"] / 1e3 if bm["time_unit"] == "ms" else bm["real_time"] / 1e9
        theirs = torch_time(torch_case(name, n, args.device), args.device)
        print(f"{name:<14}{n:>10}{ours * 1e3:>14.3f}{theirs * 1e3:>12.3f}{ours / theirs:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
