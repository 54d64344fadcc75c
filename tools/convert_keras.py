#!/usr/bin/env python3
"""Keras DenseNet121 weights (.h5) -> roentgen's model file (safetensors + metadata).

    convert_keras.py --input pretrained_model.h5 --output chestxray-keras.safetensors --labels chestxray14

Reads a Keras weights file (model.save_weights) or full model file (model.save: weights under
"model_weights"), with keras.applications.DenseNet121's layer names:
  conv1/conv, conv1/bn                   -> features.conv0, features.norm0
  conv{B}_block{L}_0_bn / _1_conv / _1_bn / _2_conv
                                         -> features.denseblock{B-1}.denselayer{L}.norm1 / conv1 / norm2 / conv2
  pool{B}_bn, pool{B}_conv               -> features.transition{B-1}.norm / conv
  bn                                     -> features.norm5
  the Dense layer (the notebook's head)  -> classifier
Conv kernels go from Keras' HWIO to OIHW, Dense kernels from [in, out] to [out, in]; batch norm
gamma/beta/moving_mean/moving_variance become weight/bias/running_mean/running_var, and Keras'
batch norm epsilon 1.001e-5 is recorded as bn_eps. Keras' DenseNet expects its own input
preprocessing; the notebook feeds it per-image standardized gray images (--normalization sample).
"""
import argparse
import re
import sys

import h5py
import numpy as np

import model_metadata
import safetensors_file

KERAS_BN_EPS = 1.001e-5
_VARS = {"kernel": "weight", "bias": "bias", "gamma": "weight", "beta": "bias",
         "moving_mean": "running_mean", "moving_variance": "running_var"}


def torch_module(layer):
    """The torchvision module path of a Keras layer name, or None for layers without weights we map."""
    if layer == "conv1/conv":
        return "features.conv0"
    if layer == "conv1/bn":
        return "features.norm0"
    if layer == "bn":
        return "features.norm5"
    m = re.fullmatch(r"conv(\d+)_block(\d+)_(0_bn|1_conv|1_bn|2_conv)", layer)
    if m:
        part = {"0_bn": "norm1", "1_conv": "conv1", "1_bn": "norm2", "2_conv": "conv2"}[m.group(3)]
        return f"features.denseblock{int(m.group(1)) - 1}.denselayer{m.group(2)}.{part}"
    m = re.fullmatch(r"pool(\d+)_(bn|conv)", layer)
    if m:
        return f"features.transition{int(m.group(1)) - 1}.{'norm' if m.group(2) == 'bn' else 'conv'}"
    return None


def read_keras_weights(path):
    """Yields (layer name, variable name, array) from a Keras .h5 file."""
    with h5py.File(path, "r") as f:
        root = f["model_weights"] if "model_weights" in f else f
        for layer in root.attrs["layer_names"]:
            layer = layer.decode() if isinstance(layer, bytes) else layer
            group = root[layer]
            for weight in group.attrs.get("weight_names", []):
                weight = weight.decode() if isinstance(weight, bytes) else weight
                var = weight.split("/")[-1].split(":")[0]
                yield layer, var, np.array(group[weight])


def convert(path):
    tensors, head_layers = {}, set()
    for layer, var, array in read_keras_weights(path):
        if var not in _VARS:
            sys.exit(f"{path}: layer {layer}: unexpected variable '{var}'")
        module = torch_module(layer)
        if module is None:
            if array.ndim == 2 or (var == "bias" and layer in head_layers):  # the Dense head
                head_layers.add(layer)
                module = "classifier"
            else:
                sys.exit(f"{path}: layer '{layer}' is not part of keras.applications.DenseNet121")
        if var == "kernel":
            array = array.transpose(3, 2, 0, 1) if array.ndim == 4 else array.T  # HWIO -> OIHW, [in,out] -> [out,in]
        tensors[f"{module}.{_VARS[var]}"] = np.ascontiguousarray(array, dtype=np.float32)
        if var == "moving_variance":
            tensors[f"{module}.num_batches_tracked"] = np.zeros((), dtype=np.int64)
    if len(head_layers) != 1:
        sys.exit(f"{path}: expected one Dense head layer, found {sorted(head_layers) or 'none'}")
    return tensors


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--labels")
    p.add_argument("--image-size", type=int, default=320)
    p.add_argument("--normalization", default="sample")
    args = p.parse_args(argv)
    tensors = convert(args.input)
    blocks = {}
    for name in tensors:
        m = re.match(r"features\.denseblock(\d+)\.denselayer(\d+)\.", name)
        if m:
            blocks[int(m.group(1))] = max(blocks.get(int(m.group(1)), 0), int(m.group(2)))
    arch = model_metadata.architecture([blocks[b] for b in sorted(blocks)])
    classes = tensors["classifier.weight"].shape[0]
    labels = model_metadata.labels_for(args.labels, classes)
    safetensors_file.write(args.output, sorted(tensors.items()),
                           model_metadata.metadata(arch, labels, args.image_size, args.normalization, KERAS_BN_EPS))
    print(f"wrote {args.output}: {arch}, {len(tensors)} tensors, {classes} outputs, bn_eps {KERAS_BN_EPS}")


if __name__ == "__main__":
    main()
