#!/usr/bin/env python3
"""Writes tests/fixtures/tiny_densenet/: a tiny torchvision DenseNet and PyTorch's results on it,
so that DenseNet parity is tested on every machine (the full densenet121 reference lives outside
the repository). Deterministic: rerunning gives the same files.

    /usr/bin/python3 tools/make_tiny_fixture.py

Model: torchvision.models.DenseNet(growth_rate=4, block_config=(2, 2), num_init_features=8,
bn_size=2, num_classes=3), seed 0, batch norm weights/biases random and running statistics built
up by 3 training forwards; everything in float64. Input: [2, 3, 32, 32], seed 1.
Files (raw little-endian float64, C order, no header):
  model.safetensors                      the state dict (float64; num_batches_tracked int64)
  input.f64.bin                          [2, 3, 32, 32]
  eval_logits.f64.bin                    [2, 3]  eval mode
  train_logits.f64.bin                   [2, 3]  the first training-mode forward
  norm5_running_mean.f64.bin, norm5_running_var.f64.bin   [16]  after that forward
  grad_input.f64.bin                     [2, 3, 32, 32]  d sum(train_logits * r) / d input
  grad_conv0_weight.f64.bin              [8, 3, 7, 7]    d sum(train_logits * r) / d conv0.weight
  r.f64.bin                              [2, 3]  the fixed weights r
"""
import copy
import os

import numpy as np
import torch
import torchvision

import safetensors_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "tiny_densenet")


def main():
    torch.manual_seed(0)
    model = torchvision.models.DenseNet(growth_rate=4, block_config=(2, 2), num_init_features=8, bn_size=2,
                                        num_classes=3).double()
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g, dtype=torch.float64) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g, dtype=torch.float64) * 0.1)
        model.train()
        for _ in range(3):
            model(torch.randn(4, 3, 32, 32, generator=g, dtype=torch.float64))
    os.makedirs(OUT, exist_ok=True)
    state = model.state_dict()
    safetensors_file.write(os.path.join(OUT, "model.safetensors"), [(k, v.numpy()) for k, v in state.items()],
                           {"model": "torchvision DenseNet(growth_rate=4, block_config=(2, 2), num_init_features=8, "
                                     "bn_size=2, num_classes=3), float64"})

    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    r = torch.randn(2, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    files = {"input": x, "r": r}
    model.eval()
    with torch.no_grad():
        files["eval_logits"] = model(x)
    trained = copy.deepcopy(model).train()
    xi = x.clone().requires_grad_(True)
    logits = trained(xi)
    files["train_logits"] = logits.detach()
    files["norm5_running_mean"] = trained.features.norm5.running_mean
    files["norm5_running_var"] = trained.features.norm5.running_var
    (logits * r).sum().backward()
    files["grad_input"] = xi.grad
    files["grad_conv0_weight"] = trained.features.conv0.weight.grad
    for name, t in files.items():
        t.detach().numpy().astype("<f8").tofile(os.path.join(OUT, name + ".f64.bin"))
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
