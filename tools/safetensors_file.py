"""Reading and writing safetensors files by hand (the format is small; no extra package needed).

8 bytes little-endian header length N, N bytes of JSON, then raw little-endian tensor data.
"""
import json
import struct

import numpy as np

# NumPy has no bfloat16: a BF16 tensor is read and written as its raw 16 bits, a uint16 array.
_DTYPES = {"F32": "<f4", "F64": "<f8", "U8": "u1", "I64": "<i8", "BF16": "<u2"}
_CODES = {np.dtype("<f4"): "F32", np.dtype("<f8"): "F64", np.dtype("u1"): "U8", np.dtype("<i8"): "I64",
          np.dtype("<u2"): "BF16"}


def write(path, tensors, metadata=None):
    """tensors: list of (name, numpy array) in the order to store them; metadata: dict of str -> str."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, array in tensors:
        shape = list(np.shape(array))  # (np.ascontiguousarray would turn a 0-d array into [1])
        array = np.ascontiguousarray(array)
        code = _CODES.get(array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype)
        if code is None:
            raise ValueError(f"{name}: unsupported dtype {array.dtype}")
        data = array.astype(_DTYPES[code], copy=False).tobytes()
        header[name] = {"dtype": code, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for chunk in chunks:
            f.write(chunk)
    import os
    os.replace(tmp, path)


def read(path):
    """Returns (dict name -> numpy array, metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=_DTYPES[entry["dtype"]]).reshape(entry["shape"])
    return tensors, metadata
