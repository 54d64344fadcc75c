#!/usr/bin/env python3
"""Writes tests/fixtures/tiny_densenet/gradcam_class<k>.f64.bin: PyTorch's Grad-CAM maps on the
tiny DenseNet fixture (tools/make_tiny_fixture.py), computed as the notebook's
util.compute_gradcam does:

    A    = features.norm5's output (before the final ReLU), eval mode        [C, h, w]
    G    = d sigmoid(logit_k) / d A
    cam  = sum_c mean(G[c]) * A[c]                                          [h, w]
    cam  = resize(cam) to the image, bilinear with half-pixel centres (cv2.INTER_LINEAR)
    cam  = max(cam, 0) / max(cam)      (ReLU after the resize, then scaled to a maximum of 1)

on the first fixture image ([1, 3, 32, 32]), for each of the 3 classes: [32, 32] float64 each.

    /usr/bin/python3 tools/make_gradcam_fixture.py
"""
import os

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

import safetensors_file

DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "tiny_densenet")


def main():
    model = torchvision.models.DenseNet(growth_rate=4, block_config=(2, 2), num_init_features=8, bn_size=2,
                                        num_classes=3).double()
    state = {k: torch.from_numpy(v.copy()) for k, v in safetensors_file.read(os.path.join(DIR, "model.safetensors"))[0].items()}
    model.load_state_dict(state)
    model.eval()
    x = torch.from_numpy(np.fromfile(os.path.join(DIR, "input.f64.bin"), dtype="<f8").reshape(2, 3, 32, 32)[:1].copy())
    for k in range(3):
        a = model.features(x)  # ends with norm5; torchvision applies the ReLU in forward()
        a.retain_grad()
        logits = model.classifier(torch.flatten(F.adaptive_avg_pool2d(F.relu(a), 1), 1))
        torch.sigmoid(logits[0, k]).backward()
        weights = a.grad[0].mean(dim=(1, 2))                                   # [C]
        cam = (weights[:, None, None] * a[0]).sum(0).detach()                   # [h, w]
        cam = F.interpolate(cam[None, None], size=(32, 32), mode="bilinear", align_corners=False)[0, 0]
        cam = cam.clamp(min=0)
        cam = cam / cam.max()
        cam.numpy().astype("<f8").tofile(os.path.join(DIR, f"gradcam_class{k}.f64.bin"))
        model.zero_grad()
    print("wrote", os.path.normpath(DIR))


if __name__ == "__main__":
    main()
