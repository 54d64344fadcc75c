#!/usr/bin/env python3
"""DenseNet121 training and inference, roentgen beside PyTorch, in one run.

    /usr/bin/python3 bench/compare_pytorch.py [--roentgen build/bin/roentgen] [--threads N]
                                              [--iters N] [--busy 1] [--quick]

Each measurement runs in its own process, roentgen and PyTorch (Debian's python3-torch with
torchvision's densenet121, the same thread count) alternately, on random images: inference at
batch 1 and 8 at 224 and 320 px; training (forward, the weighted loss, backward, Adam) at batch 8
and 16 at 224 and batch 8 at 320 — roentgen with its memory-efficient DenseNet on (the default) and
off. Prints images/s (from the median step), peak memory (the process's peak RSS; roentgen's
allocator peak too) and the ratios roentgen / PyTorch (above 1: roentgen faster or, for memory,
larger). --busy 1 keeps one core busy with another process throughout (a shared machine).
--quick measures only inference at 224 batch 8 and training at 224 batch 8.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def torch_worker(mode, batch, size, iters, warmup, threads):
    """One PyTorch measurement, in this process; prints a JSON line like roentgen bench's."""
    import resource

    import torch
    import torch.nn.functional as F
    import torchvision

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torchvision.models.densenet121(num_classes=14)
    x = torch.rand(batch, 3, size, size) * 4 - 2
    y = (torch.rand(batch, 14) > 0.9).float()
    w_pos, w_neg = torch.full((14,), 0.9), torch.full((14,), 0.1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        if mode == "train":
            model.train()
            optimizer.zero_grad()
            z = model(x)  # the notebook's weighted loss, from logits
            loss = (w_pos * y * F.softplus(-z) + w_neg * (1 - y) * F.softplus(z)).mean(0).sum()
            loss.backward()
            optimizer.step()
        else:
            model.eval()
            with torch.no_grad():
                torch.sigmoid(model(x))

    times = []
    for i in range(warmup + iters):
        start = time.perf_counter()
        step()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({"images_per_s": batch / median, "step_s": {"median": median, "min": times[0], "max": times[-1]},
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "cpu_capability": cpu_capability(torch), "config": torch.__config__.show()}))


def cpu_capability(torch):
    """The vector level of PyTorch's own kernels (torch.backends.cpu.get_cpu_capability() from
    PyTorch 2.0 on; 1.13 says it in its build configuration)."""
    if hasattr(torch.backends, "cpu"):
        return torch.backends.cpu.get_cpu_capability()
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage:" in line:
            return line.split(":", 1)[1].strip()
    return "unknown"


def run(command):
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--roentgen", default=os.path.join(HERE, "..", "build", "bin", "roentgen"))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--iters", type=int, default=3, help="timed steps per measurement (after 1 warm-up)")
    parser.add_argument("--busy", type=int, default=0, help="1: keep one core busy with another process")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--torch-worker", nargs=4, metavar=("MODE", "BATCH", "SIZE", "ITERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_worker:
        mode, batch, size, iters = args.torch_worker
        torch_worker(mode, int(batch), int(size), int(iters), 1, args.threads)
        return 0

    configs = [("infer", 1, 224), ("infer", 8, 224), ("infer", 1, 320), ("infer", 8, 320),
               ("train", 8, 224), ("train", 16, 224), ("train", 8, 320)]
    if args.quick:
        configs = [("infer", 8, 224), ("train", 8, 224)]
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    rows = []
    try:
        for i, (mode, batch, size) in enumerate(configs):
            variants = [None] if mode == "infer" else ["on", "off"]
            ours = {}
            torch_first = i % 2 == 1  # alternate who goes first
            if torch_first:
                theirs = run([sys.executable, __file__, "--threads", str(args.threads), "--torch-worker", mode,
                              str(batch), str(size), str(args.iters)])
            for v in variants:
                command = [args.roentgen, "bench", "--mode", mode, "--batch-size", str(batch), "--image-size", str(size),
                           "--iters", str(args.iters), "--warmup", "1", "--threads", str(args.threads)]
                if v:
                    command += ["--memory-efficient", v]
                ours[v] = run(command)
            if not torch_first:
                theirs = run([sys.executable, __file__, "--threads", str(args.threads), "--torch-worker", mode,
                              str(batch), str(size), str(args.iters)])
            for v, r in ours.items():
                rows.append((mode, batch, size, v, r, theirs))
                print(f"  measured {mode} batch {batch} at {size}" + (f", memory-efficient {v}" if v else "") +
                      f": roentgen {r['images_per_s']:.2f} images/s, PyTorch {theirs['images_per_s']:.2f}", flush=True)
    finally:
        if busy:
            busy.kill()

    r0, t0 = rows[0][4], rows[0][5]
    print(f"\nDenseNet121, float32, {args.threads} threads{', one core busy' if args.busy else ''}, "
          f"PyTorch {t0['torch']}; median of {args.iters} steps after 1 warm-up")
    print(f"CPU: {r0['cpu']}")
    print(f"roentgen: kernels {r0['isa']}, OpenBLAS core {r0['blas_core']}")
    build = [line.strip(" -") for line in t0["config"].splitlines() if "MKL-DNN" in line or "oneDNN" in line]
    build += [f for f in t0["config"].replace(",", " ").split() if f.startswith("BLAS_INFO=")]
    print(f"PyTorch: CPU capability {t0['cpu_capability']}; {'; '.join(build)}\n")
    print("| mode | size | batch | memory-efficient | roentgen images/s | PyTorch images/s | speed ratio | "
          "roentgen peak RSS | PyTorch peak RSS | memory ratio | roentgen allocator peak |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    gib = 2 ** 30
    for mode, batch, size, v, r, t in rows:
        print(f"| {mode} | {size} | {batch} | {v or '-'} | {r['images_per_s']:.2f} | {t['images_per_s']:.2f} | "
              f"{r['images_per_s'] / t['images_per_s']:.2f} | {r['peak_rss_bytes'] / gib:.2f} GiB | "
              f"{t['peak_rss_bytes'] / gib:.2f} GiB | {r['peak_rss_bytes'] / t['peak_rss_bytes']:.2f} | "
              f"{r['peak_bytes'] / gib:.2f} GiB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
