#!/usr/bin/env python3
"""The data loader fed from PNGs at NIH's real size, from the sample's 512x512 PNGs and from packs
(roentgen pack), side by side: loader images/s on 1 and 2 threads (warm page cache: one epoch
first, then the timed ones), the pack's speed-up per thread over the 1024x1024 PNGs, training
images/s fed from each, and what roentgen pack takes per 1,000 images at 1024x1024.

    /usr/bin/python3 bench/compare_loader_sources.py [--roentgen build/bin/roentgen] [--work DIR]

NIH's originals are 1024x1024; ../shared/data/nih-sample holds 512x512 copies, so this script
makes 1024x1024 ones first by upscaling them (Pillow, Lanczos; PNG at zlib level 6, Pillow's
default). Caveat: upscaled images compress unlike NIH's own files (their sizes are printed).
Takes about 6 minutes on 2 cores.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "..", "shared", "data", "nih-sample")


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def upscale(src, dst, names):
    from PIL import Image
    os.makedirs(dst, exist_ok=True)
    for name in names:
        path = os.path.join(dst, name)
        if not os.path.exists(path):
            Image.open(os.path.join(src, name)).resize((1024, 1024), Image.LANCZOS).save(path)


def pack(roentgen, labels, images, size, out, threads):
    start = time.perf_counter()
    subprocess.run([roentgen, "pack", "--labels", labels, "--images", images, "--image-size", str(size), "--out", out,
                    "--threads", str(threads)], check=True, capture_output=True)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--roentgen", default=os.path.join(HERE, "..", "build", "bin", "roentgen"))
    parser.add_argument("--work", default="/tmp/roentgen-loader-sources")
    parser.add_argument("--train-iters", type=int, default=3)
    parser.add_argument("--training-only", action="store_true", help="only the training table (packs already made)")
    args = parser.parse_args()
    labels = os.path.join(SAMPLE, "Data_Entry_subset.csv")
    if not os.path.exists(labels):
        print("needs ../shared/data/nih-sample")
        return 1
    with open(labels) as f:
        names = [line.split(",")[0] for line in f.readlines()[1:] if line.strip()]
    png512 = os.path.join(SAMPLE, "images")
    png1024 = os.path.join(args.work, "png1024")
    upscale(png512, png1024, names)
    mean_kb = {d: sum(os.path.getsize(os.path.join(d, n)) for n in names) / len(names) / 1e3 for d in (png512, png1024)}
    print(f"{len(names)} images; mean PNG size: 512x512 {mean_kb[png512]:.0f} KB, 1024x1024 {mean_kb[png1024]:.0f} KB")

    packs = {size: os.path.join(args.work, f"sample-{size}.rgpack") for size in (224, 320)}
    if not args.training_only:
        loader_tables(args, labels, names, png512, png1024, packs)
    training_table(args, labels, png512, png1024, packs)
    return 0


def loader_tables(args, labels, names, png512, png1024, packs):
    for size in (224, 320):
        for threads in (1, 2):
            seconds = pack(args.roentgen, labels, png1024, size, packs[size], threads)
            print(f"roentgen pack 1024x1024 -> {size}, {threads} thread(s): {seconds:.1f} s, "
                  f"{seconds / len(names) * 1000:.1f} s per 1,000 images, {len(names) / seconds:.1f} images/s")

    sources = [("PNG 1024x1024", png1024, 224), ("PNG 1024x1024", png1024, 320), ("PNG 512x512", png512, 224),
               ("PNG 512x512", png512, 320), ("pack 224", packs[224], 224), ("pack 320", packs[320], 320)]
    rates = {}
    print(f"\n| source | model size | threads | images/s | per thread | stored MB/s | batch MB/s |")
    print("|---|---|---|---|---|---|---|")
    for label, images, size in sources:
        for threads in (1, 2):
            epochs = "1" if images != packs.get(size) else "20"
            r = run_json([args.roentgen, "bench", "--mode", "load", "--images", images, "--labels", labels,
                          "--image-size", str(size), "--batch-size", "16", "--threads", str(threads), "--iters", epochs])
            rates[(label, size, threads)] = r["images_per_s"]
            print(f"| {label} | {size} | {threads} | {r['images_per_s']:.0f} | {r['images_per_s_per_thread']:.0f} | "
                  f"{r['stored_mb_per_s']:.1f} | {r['batch_mb_per_s']:.0f} |", flush=True)
    cpu = r["cpu"]
    print(f"\n(CPU: {cpu})")
    for size in (224, 320):
        for threads in (1, 2):
            ratio = rates[(f"pack {size}", size, threads)] / rates[("PNG 1024x1024", size, threads)]
            print(f"pack {size} / PNG 1024x1024 -> {size}, {threads} thread(s): {ratio:.1f}x")


def training_table(args, labels, png512, png1024, packs):
    print(f"\n| training fed from | images/s | loading s/step | step s |")
    print("|---|---|---|---|")
    for label, images, size in [("random images (no loader)", None, 224), ("PNG 1024x1024", png1024, 224),
                                ("PNG 512x512", png512, 224), ("pack 224", packs[224], 224)]:
        cmd = [args.roentgen, "bench", "--mode", "train", "--batch-size", "16", "--image-size", str(size),
               "--iters", str(args.train_iters), "--warmup", "1"]
        if images:
            cmd += ["--images", images, "--labels", labels]
        r = run_json(cmd)
        print(f"| {label} | {r['images_per_s']:.2f} | {r['phases_s']['loading']:.3f} | {r['step_s']['median']:.2f} |",
              flush=True)


if __name__ == "__main__":
    sys.exit(main())
