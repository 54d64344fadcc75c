#!/usr/bin/env python3
"""Writes a training-trajectory fixture: what PyTorch computes for k steps of roentgen's recipe,
so that tests/test_trajectory.cpp can run the same steps through roentgen's real trainer
(prepare_session -> run_session -> train) and compare, step by step.

The recipe (as `roentgen train --no-augment --no-shuffle`): images normalized each by its own mean
and standard deviation, repeated to 3 channels; batches in file order; the weighted loss from
logits, sum over labels of the batch mean of w_pos y softplus(-z) + w_neg (1 - y) softplus(z),
with w_pos = freq_neg and w_neg = freq_pos from the training CSV; batch norm in training mode;
Adam (betas 0.9, 0.999, eps 1e-8, no weight decay); float32; one thread.

    /usr/bin/python3 tools/make_trajectory_fixture.py --model tiny --out tests/fixtures/trajectory_tiny
    /usr/bin/python3 tools/make_trajectory_fixture.py --model densenet121 --out /tmp/trajectory121 \\
        --reference ../shared/reference/densenet121/model.safetensors --images ../shared/data/nih-sample

tiny: torchvision DenseNet(growth_rate=4, block_config=(2, 2), num_init_features=8, bn_size=2,
num_classes=3), seeded, on 8 synthetic 32x32 images (batch 4, 2 steps). densenet121: the reference
weights on the first 16 training and 4 validation images of the NIH sample, resized to 224 and
saved as 8-bit PNGs (so both sides read the same pixels; batch 8, 1 step).
Files: config.json, train.csv, valid.csv, images/*.png, initial.safetensors (the weights before),
expected.safetensors ("loss" [k] float64; the state dict after k steps and "grad.<name>", the
gradients of the last step, float32).
"""
import argparse
import csv
import json
import os

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image

import safetensors_file


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def tiny_data(out):
    """8 training and 4 validation 32x32 images: smooth random blobs; 3 labels."""
    rng = np.random.default_rng(0)
    labels = ["A", "B", "C"]
    yy, xx = np.mgrid[0:32, 0:32]
    rows = []
    for i in range(12):
        img = 60 + 40 * rng.random()
        for _ in range(3):
            cx, cy, r, a = rng.uniform(4, 28), rng.uniform(4, 28), rng.uniform(3, 9), rng.uniform(-60, 120)
            img = img + a * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
        img = np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)
        name = f"{i:03d}.png"
        Image.fromarray(img).save(os.path.join(out, "images", name))
        y = [int(rng.random() < p) for p in (0.5, 0.3, 0.6)]
        rows.append([name] + y + [str(i // 2)])
    y_train = np.array([r[1:4] for r in rows[:8]])
    for k in range(3):  # every label both present and absent in training
        if y_train[:, k].min() == y_train[:, k].max():
            rows[k][1 + k] = 1 - rows[k][1 + k]
    write_csv(os.path.join(out, "train.csv"), ["Image"] + labels + ["PatientId"], rows[:8])
    write_csv(os.path.join(out, "valid.csv"), ["Image"] + labels + ["PatientId"], rows[8:])
    return labels


def nih_data(out, sample, size):
    """The first 16 training and 4 validation images of the NIH sample, at `size`, as 8-bit PNGs."""
    def take(name, n):
        with open(os.path.join(sample, name)) as f:
            r = list(csv.reader(f))
        header, rows = r[0], r[1:n + 1]
        for row in rows:
            image = Image.open(os.path.join(sample, "images", row[0])).convert("L").resize((size, size), Image.BILINEAR)
            image.save(os.path.join(out, "images", row[0]))
        return header, rows
    header, train = take("train-small.csv", 16)
    _, valid = take("valid-small.csv", 4)
    write_csv(os.path.join(out, "train.csv"), header, train)
    write_csv(os.path.join(out, "valid.csv"), header, valid)
    return header[1:-1]


def load_batch(out, rows, names):
    images = []
    for row in rows:
        x = np.asarray(Image.open(os.path.join(out, "images", row[0])), dtype=np.uint8).astype(np.float32)
        mean = x.astype(np.float64).mean()
        std = np.sqrt(((x.astype(np.float64) - mean) ** 2).mean())
        x = (x - np.float32(mean)) * np.float32(1.0 / (std + 1e-6))  # as data/normalize.cpp, in float32
        images.append(np.repeat(x[None], 3, axis=0))
    y = np.array([[float(v) for v in row[1:1 + len(names)]] for row in rows], dtype=np.float32)
    return torch.from_numpy(np.stack(images)), torch.from_numpy(y)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["tiny", "densenet121"], required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--reference", help="densenet121: the initial weights (a torchvision state dict, safetensors)")
    parser.add_argument("--images", help="densenet121: the NIH sample folder (train-small.csv, valid-small.csv, images/)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--steps", type=int, help="steps to take (default: 2)")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch's threads (its run-to-run spread: compare 1 and 2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(os.path.join(args.out, "images"), exist_ok=True)

    if args.model == "tiny":
        labels, size, batch, steps = tiny_data(args.out), 32, 4, 2
        torch.manual_seed(0)
        model = torchvision.models.DenseNet(growth_rate=4, block_config=(2, 2), num_init_features=8, bn_size=2,
                                            num_classes=len(labels))
        g = torch.Generator().manual_seed(2)
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
        config = {"model": "tiny", "growth": 4, "blocks": [2, 2], "init_features": 8, "bn_size": 2}
    else:
        labels, size, batch, steps = nih_data(args.out, args.images, 224), 224, 8, 1
        model = torchvision.models.densenet121(num_classes=len(labels))
        state, _ = safetensors_file.read(args.reference)
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
        config = {"model": "densenet121"}
    steps = args.steps or steps
    # On DenseNet121 in float32 the update after Adam's first step is nearly lr * sign(gradient), so
    # gradients that float rounding puts on either side of zero flip whole steps: PyTorch's own
    # updates differ by about 4% (one step) and 10% (two) between 1 and 2 threads. There the test
    # compares the losses and the gradient of the last step, and prints the update's difference.
    config["check_update"] = args.model == "tiny"
    model = model.float()
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    safetensors_file.write(os.path.join(args.out, "initial.safetensors"), [(k, v.numpy()) for k, v in initial.items()])

    with open(os.path.join(args.out, "train.csv")) as f:
        rows = list(csv.reader(f))[1:]
    _, y_all = load_batch(args.out, rows, labels)
    freq_pos = y_all.mean(0)
    w_pos, w_neg = 1.0 - freq_pos, freq_pos
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    model.train()
    losses = []
    for step in range(steps):
        x, y = load_batch(args.out, rows[step * batch:(step + 1) * batch], labels)
        opt.zero_grad()
        z = model(x)
        loss = (w_pos * y * F.softplus(-z) + w_neg * (1 - y) * F.softplus(z)).mean(0).sum()
        loss.backward()
        grads = [("grad." + k, p.grad.numpy().copy()) for k, p in model.named_parameters()]
        opt.step()
        losses.append(loss.item())
    expected = [("loss", np.array(losses, dtype=np.float64))]
    expected += [(k, v.detach().numpy()) for k, v in model.state_dict().items()] + grads
    safetensors_file.write(os.path.join(args.out, "expected.safetensors"), expected)
    config.update({"image_size": size, "batch_size": batch, "steps": steps, "lr": args.lr, "labels": labels,
                   "torch": torch.__version__})
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}: {steps} steps, losses {losses}")


if __name__ == "__main__":
    main()
