#!/usr/bin/env python3
"""Training from scratch, roentgen beside PyTorch: the same recipe on the same images, epoch by
epoch — train loss, validation loss, validation and test mean AUROC, seconds — and at the end the
test mean AUROC of the epoch each would choose by validation loss (never by test).

    /usr/bin/python3 bench/compare_training.py [--data ../shared/data/nih-sample] [--epochs 6]
        [--batch-size 16] [--lr 1e-3] [--image-size 224] [--threads 2] [--roentgen build/bin/roentgen]

The recipe is roentgen train's: DenseNet121 from random weights (seeded), images normalized each by
its own mean and std in training and evaluation, random horizontal flips, batches shuffled every
epoch, the weighted loss from logits (w_pos = freq_neg, w_neg = freq_pos of the training CSV),
Adam, the learning rate divided by 10 after two epochs without a lower validation loss, early
stopping after 3 such epochs. PyTorch is Debian's python3-torch (torchvision's densenet121), in
this process, with the same thread count; roentgen runs `roentgen train` one epoch at a time
(--resume) so that each epoch's model can be scored on the test set. Takes about 6 minutes per
epoch pair on 2 cores at 224 px; too long for CI.
"""
import argparse
import csv
import json
import os
import subprocess
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def mean_auroc(y, p):
    """Mean over labels with both classes of the AUROC (ties count half), as roentgen eval."""
    aucs = []
    for k in range(y.shape[1]):
        pos, neg = p[y[:, k] > 0.5, k], p[y[:, k] <= 0.5, k]
        if len(pos) == 0 or len(neg) == 0:
            continue
        order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
        ranks = np.empty(len(order))
        values = np.concatenate([pos, neg])[order]
        i = 0
        while i < len(values):  # average ranks over ties
            j = i
            while j + 1 < len(values) and values[j + 1] == values[i]:
                j += 1
            ranks[order[i:j + 1]] = (i + j) / 2 + 1
            i = j + 1
        aucs.append((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))
    return float(np.mean(aucs)) if aucs else float("nan")


def read_labels(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    return [r[0] for r in rows[1:]], np.array([[float(v) for v in r[1:-1]] for r in rows[1:]], dtype=np.float32)


def pytorch_run(args, csvs):
    import torch
    import torch.nn.functional as F
    import torchvision
    from PIL import Image

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    cache = {}

    def image(name):
        if name not in cache:
            x = Image.open(os.path.join(args.data, "images", name)).convert("L")
            x = np.asarray(x.resize((args.image_size, args.image_size), Image.BOX), dtype=np.float32)
            cache[name] = (x - x.mean()) / (x.std() + 1e-6)
        return cache[name]

    def batches(names, labels, shuffle):
        order = rng.permutation(len(names)) if shuffle else np.arange(len(names))
        for i in range(0, len(order), args.batch_size):
            idx = order[i:i + args.batch_size]
            x = np.stack([image(names[j])[:, ::-1] if shuffle and rng.random() < 0.5 else image(names[j]) for j in idx])
            yield torch.from_numpy(np.repeat(x[:, None], 3, axis=1).copy()), torch.from_numpy(labels[idx])

    (train_names, y_train), (valid_names, y_valid), (test_names, y_test) = csvs
    freq_pos = torch.from_numpy(y_train.mean(0))
    w_pos, w_neg = 1 - freq_pos, freq_pos

    def loss_fn(z, y):
        return (w_pos * y * F.softplus(-z) + w_neg * (1 - y) * F.softplus(z)).mean(0).sum()

    model = torchvision.models.densenet121(num_classes=y_train.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.1, patience=1)

    def predict(names, labels):
        model.eval()
        losses, probs = [], []
        with torch.no_grad():
            for x, y in batches(names, labels, False):
                z = model(x)
                losses.append(loss_fn(z, y).item() * len(y))
                probs.append(torch.sigmoid(z).numpy())
        return sum(losses) / len(names), np.concatenate(probs)

    history, best, bad = [], float("inf"), 0
    for epoch in range(1, args.epochs + 1):
        start = time.time()
        model.train()
        total, n = 0.0, 0
        for x, y in batches(train_names, y_train, True):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            total, n = total + loss.item(), n + 1
        val_loss, val_p = predict(valid_names, y_valid)
        _, test_p = predict(test_names, y_test)
        history.append({"epoch": epoch, "train_loss": total / n, "val_loss": val_loss,
                        "val_auc": mean_auroc(y_valid, val_p), "test_auc": mean_auroc(y_test, test_p),
                        "seconds": time.time() - start})
        print("pytorch ", row(history[-1]), flush=True)
        sched.step(val_loss)
        best, bad = (val_loss, 0) if val_loss < best else (best, bad + 1)
        if bad >= 3:
            break
    return history


def roentgen_run(args, csvs, out):
    base = [args.roentgen, "train", "--train", os.path.join(args.data, args.train), "--valid",
            os.path.join(args.data, args.valid), "--images", os.path.join(args.data, "images"), "--out", out,
            "--batch-size", str(args.batch_size), "--lr", str(args.lr), "--image-size", str(args.image_size),
            "--threads", str(args.threads), "--seed", str(args.seed)]
    test_names, y_test = csvs[2]
    history = []
    for epoch in range(1, args.epochs + 1):
        start = time.time()
        run = subprocess.run(base + ["--epochs", str(epoch)] + (["--resume", "1"] if epoch > 1 else []),
                             capture_output=True, text=True)
        if run.returncode != 0:
            raise SystemExit("roentgen train failed:\n" + run.stderr[-3000:])
        seconds = time.time() - start
        model = os.path.join(out, f"epoch{epoch}.safetensors")
        subprocess.run([args.roentgen, "export", "--checkpoint", os.path.join(out, "last.safetensors"), "--out", model],
                       check=True, capture_output=True)
        preds = os.path.join(out, "test_preds.csv")
        subprocess.run([args.roentgen, "predict", "--model", model, "--csv", os.path.join(args.data, args.test),
                        "--images", os.path.join(args.data, "images"), "--out", preds, "--threads", str(args.threads)],
                       check=True, capture_output=True)
        with open(preds) as f:
            rows = {r[0]: [float(v) for v in r[1:]] for r in list(csv.reader(f))[1:]}
        with open(os.path.join(out, "log.csv")) as f:
            log = list(csv.DictReader(f))[-1]
        history.append({"epoch": epoch, "train_loss": float(log["train_loss"]), "val_loss": float(log["val_loss"]),
                        "val_auc": float(log["val_mean_auc"] or "nan"),
                        "test_auc": mean_auroc(y_test, np.array([rows[n] for n in test_names])), "seconds": seconds})
        print("roentgen", row(history[-1]), flush=True)
        if "early stopping" in run.stderr or "no improvement" in run.stderr:
            break
    return history


def row(h):
    return (f"epoch {h['epoch']:2d}  train loss {h['train_loss']:.4f}  val loss {h['val_loss']:.4f}  "
            f"val AUROC {h['val_auc']:.3f}  test AUROC {h['test_auc']:.3f}  {h['seconds']:6.1f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.path.join(HERE, "..", "..", "shared", "data", "nih-sample"))
    parser.add_argument("--train", default="train-small.csv")
    parser.add_argument("--valid", default="valid-small.csv")
    parser.add_argument("--test", default="test.csv")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-epochs", type=int, default=3, help="also choose the epoch from this one on (as --min-epochs)")
    parser.add_argument("--roentgen", default=os.path.join(HERE, "..", "build", "bin", "roentgen"))
    args = parser.parse_args()
    csvs = [read_labels(os.path.join(args.data, f)) for f in (args.train, args.valid, args.test)]
    print(f"{len(csvs[0][0])} training, {len(csvs[1][0])} validation, {len(csvs[2][0])} test images; batch "
          f"{args.batch_size}, lr {args.lr}, {args.image_size} px, {args.threads} threads", flush=True)
    with tempfile.TemporaryDirectory() as out:
        results = {"roentgen": roentgen_run(args, csvs, out), "pytorch": pytorch_run(args, csvs)}
    print(f"\n| | epoch chosen by validation loss | its test mean AUROC | the same from epoch {args.min_epochs} on | "
          "best test AUROC of any epoch | seconds per epoch |")
    print("|---|---|---|---|---|---|")
    for name, history in results.items():
        chosen = min(history, key=lambda h: h["val_loss"])
        later = min([h for h in history if h["epoch"] >= args.min_epochs] or history, key=lambda h: h["val_loss"])
        print(f"| {name} | {chosen['epoch']} | {chosen['test_auc']:.3f} | epoch {later['epoch']}: {later['test_auc']:.3f} | "
              f"{max(h['test_auc'] for h in history):.3f} | {np.mean([h['seconds'] for h in history]):.0f} |")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
