"""bfloat16 conversion against PyTorch's, bit for bit: random float32 values (normal at many scales,
and raw bit patterns: subnormals, ties, NaNs, infinities) through roentgen's Tensor::to(bfloat16)
(tests/convert_dtype.cpp) equal torch's .to(torch.bfloat16); the BF16 file roentgen writes loads in
torch as torch.bfloat16 with those values; and bfloat16 back to float32 is exact.

    python3 tests/bfloat16_pytorch.py build/bin/convert_dtype

Exits 77 (skipped) without PyTorch.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
except ImportError as e:
    print(f"[skipped] the bfloat16 comparison needs PyTorch: {e}")
    sys.exit(77)

CODES = {"F32": np.dtype("<f4"), "BF16": np.dtype("<u2")}  # bfloat16 as its raw 16 bits


def write(path, name, code, array):
    data = np.ascontiguousarray(array).astype(CODES[code]).tobytes()
    header = json.dumps({name: {"dtype": code, "shape": list(array.shape), "data_offsets": [0, len(data)]}}).encode()
    header += b" " * ((8 - len(header) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + data)


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    ((name, entry),) = header.items()
    begin, end = entry["data_offsets"]
    return entry["dtype"], raw[8 + n + begin:8 + n + end], entry["shape"]


def main():
    convert = sys.argv[1]
    gen = np.random.default_rng(0)
    scales = (np.float32(10.0) ** gen.integers(-40, 39, 20000)).astype(np.float32)  # float32 underflows at e-45
    values = np.concatenate([
        gen.standard_normal(20000).astype(np.float32) * scales,
        gen.integers(0, 2**32, 20000, dtype=np.uint32).view(np.float32),   # any bits
        (gen.integers(0, 2**16, 5000, dtype=np.uint32) << 16 | 0x8000).view(np.float32),    # exact ties
        np.array([0.0, -0.0, np.inf, -np.inf, np.finfo(np.float32).max, np.finfo(np.float32).tiny], np.float32),
    ])
    with tempfile.TemporaryDirectory() as tmp:
        src, out, back = (os.path.join(tmp, n) for n in ("f32.safetensors", "bf16.safetensors", "back.safetensors"))
        write(src, "x", "F32", values)
        subprocess.run([convert, src, out, "bfloat16"], check=True)
        code, data, shape = read(out)
        assert code == "BF16" and shape == [len(values)], (code, shape)
        ours = np.frombuffer(data, dtype="<u2")
        theirs_t = torch.from_numpy(values.copy()).to(torch.bfloat16)
        theirs = theirs_t.view(torch.int16).numpy().view(np.uint16)
        nan = np.isnan(values)
        assert (ours[nan] == 0x7FC0).all(), "a NaN is not the quiet NaN 0x7FC0"
        differ = np.flatnonzero((ours != theirs) & ~nan)
        assert differ.size == 0, f"{differ.size} of {values.size} differ from PyTorch, e.g. float bits " \
            f"{values[differ[0]:differ[0] + 1].view(np.uint32)[0]:#010x}: ours {ours[differ[0]]:#06x}, " \
            f"PyTorch's {theirs[differ[0]]:#06x}"
        loaded = torch.frombuffer(bytearray(data), dtype=torch.bfloat16)   # the file's bytes as torch.bfloat16
        assert torch.equal(loaded[~torch.from_numpy(nan)], theirs_t[~torch.from_numpy(nan)])
        subprocess.run([convert, out, back, "float32"], check=True)
        code, data, _ = read(back)
        assert code == "F32"
        assert np.array_equal(np.frombuffer(data, "<f4")[~nan], theirs_t.float().numpy()[~nan]), "bfloat16 -> float32"
    print(f"bfloat16: {values.size} values, every one as PyTorch {torch.__version__} rounds it")


if __name__ == "__main__":
    main()
