#!/usr/bin/env python3
"""torchvision or timm DenseNet weights -> roentgen's model file (safetensors + metadata).

    convert_torchvision.py --input densenet121-a639ec97.pth --output densenet121-imagenet.safetensors
    convert_torchvision.py --input chexnet.pth.tar --output chexnet.safetensors --labels chestxray14
    convert_torchvision.py --random-init densenet121 --classes 14 --seed 0 --output random.safetensors

The input may be a state dict, a checkpoint holding one under "state_dict" or "model", or a pickled
model; keys from nn.DataParallel ("module.") and torchvision's old pretrained files
("denselayer1.norm.1.weight" for "denselayer1.norm1.weight") are renamed. Options:
  --labels chestxray14 | imagenet | A,B,C     output names (default: by class count)
  --image-size N (default 224)   --normalization imagenet | sample | dataset:<mean>,<std> (default imagenet)

Getting the ImageNet weights (needs internet, once): in Python with torchvision,
    torchvision.models.densenet121(weights="IMAGENET1K_V1")   # downloads densenet121-a639ec97.pth
into ~/.cache/torch/hub/checkpoints/; or timm.create_model("densenet121", pretrained=True).
"""
import argparse
import re
import sys

import numpy as np
import torch

import model_metadata
import safetensors_file

_OLD_STYLE = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var|num_batches_tracked))$")


def clean_state_dict(obj):
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    out = {}
    for name, value in obj.items():
        if not torch.is_tensor(value):
            continue
        name = name[len("module."):] if name.startswith("module.") else name
        m = _OLD_STYLE.match(name)
        if m:
            name = m.group(1) + m.group(2)
        out[name] = value
    return out


def block_layers(state):
    counts = {}
    for name in state:
        m = re.match(r"features\.denseblock(\d+)\.denselayer(\d+)\.", name)
        if m:
            b, l = int(m.group(1)), int(m.group(2))
            counts[b] = max(counts.get(b, 0), l)
    return [counts[b] for b in sorted(counts)]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="a .pth / .pth.tar file")
    source.add_argument("--random-init", metavar="ARCH", help="a fresh torchvision model (densenet121/169/201), for tests")
    p.add_argument("--classes", type=int, default=14, help="with --random-init: classifier outputs")
    p.add_argument("--seed", type=int, default=0, help="with --random-init")
    p.add_argument("--output", required=True)
    p.add_argument("--labels")
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--normalization", default="imagenet")
    args = p.parse_args(argv)

    if args.random_init:
        import torchvision
        torch.manual_seed(args.seed)
        state = getattr(torchvision.models, args.random_init)(weights=None, num_classes=args.classes).state_dict()
    else:
        state = clean_state_dict(torch.load(args.input, map_location="cpu"))
    if "classifier.weight" not in state:
        sys.exit(f"{args.input}: no classifier.weight: not a torchvision/timm DenseNet state dict")
    arch = model_metadata.architecture(block_layers(state))
    classes = state["classifier.weight"].shape[0]
    labels = model_metadata.labels_for(args.labels, classes)
    tensors = [(name, t.detach().cpu().numpy()) for name, t in state.items()]
    safetensors_file.write(args.output, tensors,
                           model_metadata.metadata(arch, labels, args.image_size, args.normalization, 1e-5))
    print(f"wrote {args.output}: {arch}, {len(tensors)} tensors, {classes} outputs")


if __name__ == "__main__":
    main()
