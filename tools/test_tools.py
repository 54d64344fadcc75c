#!/usr/bin/env python3
"""Tests of the converters, end to end with the roentgen CLI.

    /usr/bin/python3 tools/test_tools.py build/bin/roentgen

1. A random-initialized torchvision densenet121 (non-trivial batch norm statistics), saved as
   a .pth, converted, and run through `roentgen predict` gives PyTorch's probabilities on the
   same pixels.
2. Old-style torchvision keys and nn.DataParallel's "module." prefix are renamed.
3. A Keras-layout .h5 (written with h5py from a torchvision model, with Keras' layer names,
   HWIO kernels and gamma/beta/moving_* names) converts back to the same tensors, bn_eps 1.001e-5.
Exits 77 (skipped) when PyTorch, torchvision or h5py is missing.
"""
import os
import subprocess
import sys
import tempfile

try:
    import h5py
    import numpy as np
    import torch
    import torchvision
    from PIL import Image
except ImportError as e:
    print(f"[skipped] converter tests need PyTorch, torchvision, h5py and Pillow: {e}")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_keras  # noqa: E402
import convert_torchvision  # noqa: E402
import safetensors_file  # noqa: E402

ROENTGEN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build/bin/roentgen"
MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])


def random_densenet121(classes=14):
    torch.manual_seed(0)
    model = torchvision.models.densenet121(weights=None, num_classes=classes)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
    return model.eval()


def check(condition, message):
    if not condition:
        print("FAIL:", message)
        sys.exit(1)
    print("ok:", message)


def test_predict_matches_pytorch(tmp):
    model = random_densenet121()
    torch.save(model.state_dict(), os.path.join(tmp, "model.pth"))
    out = os.path.join(tmp, "model.safetensors")
    convert_torchvision.main(["--input", os.path.join(tmp, "model.pth"), "--output", out, "--image-size", "64"])
    subprocess.run([ROENTGEN, "inspect", out], check=True)

    rng = np.random.default_rng(0)
    names, pixels = [], []
    os.makedirs(os.path.join(tmp, "images"))
    for i in range(5):
        img = rng.integers(0, 256, size=(64, 64), dtype=np.uint8)
        name = f"img{i}.png"
        Image.fromarray(img, mode="L").save(os.path.join(tmp, "images", name))
        names.append(name)
        pixels.append(img)
    with open(os.path.join(tmp, "list.csv"), "w") as f:
        f.write("Image\n" + "".join(n + "\n" for n in names))
    subprocess.run([ROENTGEN, "predict", "--model", out, "--csv", os.path.join(tmp, "list.csv"), "--images",
                    os.path.join(tmp, "images"), "--out", os.path.join(tmp, "preds.csv"), "--batch-size", "2"], check=True)
    with open(os.path.join(tmp, "preds.csv")) as f:
        header = f.readline().strip().split(",")
        ours = np.array([[float(v) for v in line.strip().split(",")[1:]] for line in f])
    check(header[1:] == convert_torchvision.model_metadata.CHESTXRAY14, "predict writes the 14 labels as the header")

    gray = np.stack(pixels).astype(np.float64) / 255.0                    # [N, H, W]
    x = (gray[:, None] - MEAN[None, :, None, None]) / STD[None, :, None, None]  # imagenet normalization, 3 channels
    with torch.no_grad():
        theirs = torch.sigmoid(model(torch.tensor(x, dtype=torch.float32))).numpy()
    err = np.abs(ours - theirs).max()
    check(err < 1e-4, f"roentgen predict equals PyTorch's probabilities (max abs difference {err:.2e})")


def test_key_renaming(tmp):
    model = random_densenet121()
    state = model.state_dict()
    old = {}
    for k, v in state.items():
        k = k.replace("denselayer1.norm1.", "denselayer1.norm.1.").replace("denselayer1.conv2.", "denselayer1.conv.2.")
        old["module." + k] = v
    torch.save({"state_dict": old}, os.path.join(tmp, "old.pth.tar"))
    out = os.path.join(tmp, "old.safetensors")
    convert_torchvision.main(["--input", os.path.join(tmp, "old.pth.tar"), "--output", out])
    tensors, meta = safetensors_file.read(out)
    check(set(tensors) == set(state), "old-style keys and the module. prefix are renamed to torchvision's")
    check(all(np.array_equal(tensors[k], state[k].numpy()) for k in state), "converted values are unchanged")
    check(meta["architecture"] == "densenet121" and meta["bn_eps"] == "1e-05", "metadata: architecture and bn_eps")


def keras_layer(torch_module_name):
    """The Keras layer name of a torchvision module path (the inverse of convert_keras's map)."""
    parts = torch_module_name.split(".")
    if torch_module_name == "features.conv0":
        return "conv1/conv"
    if torch_module_name == "features.norm0":
        return "conv1/bn"
    if torch_module_name == "features.norm5":
        return "bn"
    if torch_module_name == "classifier":
        return "dense"
    if parts[1].startswith("denseblock"):
        b, l = int(parts[1][len("denseblock"):]) + 1, int(parts[2][len("denselayer"):])
        return f"conv{b}_block{l}_" + {"norm1": "0_bn", "conv1": "1_conv", "norm2": "1_bn", "conv2": "2_conv"}[parts[3]]
    t = int(parts[1][len("transition"):]) + 1
    return f"pool{t}_" + {"norm": "bn", "conv": "conv"}[parts[2]]


def test_keras(tmp):
    state = random_densenet121().state_dict()
    layers = {}
    for name, value in state.items():
        module, var = name.rsplit(".", 1)
        if var == "num_batches_tracked":
            continue
        a = value.numpy()
        is_bn = "norm" in module
        keras_var = {"weight": "gamma" if is_bn else "kernel", "bias": "beta" if is_bn else "bias",
                     "running_mean": "moving_mean", "running_var": "moving_variance"}[var]
        if keras_var == "kernel":
            a = a.transpose(2, 3, 1, 0) if a.ndim == 4 else a.T  # OIHW -> HWIO, [out,in] -> [in,out]
        layers.setdefault(keras_layer(module), []).append((keras_var, a))
    path = os.path.join(tmp, "pretrained_model.h5")
    with h5py.File(path, "w") as f:
        root = f.create_group("model_weights")
        root.attrs["layer_names"] = [n.encode() for n in layers]
        for layer, weights in layers.items():
            g = root.create_group(layer)
            names = [f"{layer}/{v}:0" for v, _ in weights]
            g.attrs["weight_names"] = [n.encode() for n in names]
            for n, (_, a) in zip(names, weights):
                g.create_dataset(n, data=a)
    out = os.path.join(tmp, "keras.safetensors")
    convert_keras.main(["--input", path, "--output", out, "--labels", "chestxray14"])
    tensors, meta = safetensors_file.read(out)
    check(set(tensors) == set(state), "a Keras DenseNet121 maps onto every torchvision name")
    same = all(np.array_equal(tensors[k], state[k].numpy()) for k in state if not k.endswith("num_batches_tracked"))
    check(same, "Keras kernels (HWIO, [in,out]) and batch norm variables convert to torchvision's values")
    check(meta["bn_eps"] == "1.001e-05" and meta["normalization"] == "sample", "Keras metadata: bn_eps 1.001e-5, sample normalization")
    subprocess.run([ROENTGEN, "inspect", out], check=True)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        test_predict_matches_pytorch(tmp)
        test_key_renaming(tmp)
        test_keras(tmp)
    print("converter tests passed")


if __name__ == "__main__":
    main()
