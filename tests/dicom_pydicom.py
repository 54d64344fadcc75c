"""DICOM's display pipeline against pydicom's: files written here with pydicom, one per case of
data/dicom.h (bit layouts, signed pixels, rescale, windows and their functions, VOI and modality
LUTs, MONOCHROME1, padding, multi-frame), decoded by roentgen (tests/decode_image.cpp) and by
pydicom's pixel_array -> apply_modality_lut -> apply_voi_lut, scaled to 0..255 as data/dicom.h
says; the same files compressed by GDCM's gdcmconv (RLE, JPEG lossless, JPEG-LS, JPEG 2000
lossless: the same pixels; JPEG and JPEG 2000 lossy: within a bound); JPEG 2000's helper process
crashing or missing; and broken files, each a clean error naming the file and the tag.

    python3 tests/dicom_pydicom.py build/bin/decode_image

Exits 77 (skipped) without pydicom (Debian's python3-pydicom) or gdcmconv (libgdcm-tools).
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
try:
    import numpy as np
    import pydicom
    from pydicom.pixel_data_handlers.util import apply_modality_lut, apply_voi_lut
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian, RLELossless

    from dicom_files import dataset, lut_item
except ImportError as e:
    print(f"[skipped] the DICOM comparison needs pydicom and numpy: {e}")
    sys.exit(77)
if shutil.which("gdcmconv") is None:
    print("[skipped] the DICOM comparison needs gdcmconv (Debian's libgdcm-tools) to compress files")
    sys.exit(77)

DECODE = sys.argv[1]
# A VOI LUT after a rescale indexes the LUT with real values; roentgen takes their floor, as this.
warnings.filterwarnings("ignore", "Applying a VOI LUT on a float input array")
TOLERANCE = 2e-3  # of a gray level: roentgen computes in float64 and stores float32
rng = np.random.default_rng(7)


def radiograph(rows, columns, low, high):
    """A smooth body with noise, so that compressors have something real to do."""
    y, x = np.mgrid[0:rows, 0:columns]
    body = np.exp(-(((x - columns / 2) / (columns / 3)) ** 2 + ((y - rows / 2) / (rows / 2.5)) ** 2))
    v = low + (high - low) * (0.8 * body + 0.2 * rng.random((rows, columns)))
    return np.clip(np.round(v), low, high)


def expected(path, stored=None):
    """pydicom's pipeline, scaled to 0..255: what a viewer shows. `stored` overrides pixel_array
    where pydicom does not take the stored bits out of their words."""
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array if stored is None else stored
    if getattr(ds, "NumberOfFrames", 1) > 1:
        arr = arr[0]
    shown = apply_voi_lut(apply_modality_lut(arr, ds), ds)
    bits = ds.BitsStored
    if ds.get("VOILUTSequence"):
        fraction = shown / (2.0 ** ds.VOILUTSequence[0].LUTDescriptor[2] - 1)
    else:  # a window maps into the modality's range, as does showing all of it
        if ds.get("ModalityLUTSequence"):
            lo, hi = 0.0, 2.0 ** ds.ModalityLUTSequence[0].LUTDescriptor[2] - 1
        else:
            lo, hi = (0.0, 2.0**bits - 1) if ds.PixelRepresentation == 0 else (-(2.0 ** (bits - 1)), 2.0 ** (bits - 1) - 1)
            if "RescaleSlope" in ds and "RescaleIntercept" in ds:
                lo, hi = lo * float(ds.RescaleSlope) + float(ds.RescaleIntercept), hi * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        fraction = (shown - lo) / (hi - lo)
    fraction = np.clip(fraction, 0, 1)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        fraction = 1 - fraction
    out = 255 * fraction
    if "PixelPaddingValue" in ds:
        limit = ds.get("PixelPaddingRangeLimit", ds.PixelPaddingValue)
        lo, hi = sorted([ds.PixelPaddingValue, limit])
        out[(arr >= lo) & (arr <= hi)] = 0
    return out


def decode(path):
    out = path + ".f32"
    result = subprocess.run([DECODE, path, out], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip())
    raw = open(out, "rb").read()
    width, height = struct.unpack("<ii", raw[:8])
    return np.frombuffer(raw[8:], dtype="<f4").reshape(height, width).astype(np.float64), result.stderr


failures = []


def check(name, got, want, tolerance=TOLERANCE):
    error = float(np.max(np.abs(got - want))) if got.shape == want.shape else float("inf")
    ok = error <= tolerance
    print(f"{'ok  ' if ok else 'FAIL'} {name}: max |roentgen - pydicom| = {error:.2e} gray levels (bound {tolerance})")
    if not ok:
        failures.append(name)


def main(folder):
    u12 = radiograph(64, 48, 0, 4095)
    s12 = radiograph(64, 48, -2048, 2047)
    u8 = radiograph(40, 56, 0, 255)
    cases = {
        "u16 12 bits, first of two windows": dataset(u12, bits_stored=12, WindowCenter=[2048, 1000], WindowWidth=[1024, 500]),
        "u16 12 bits, MONOCHROME1": dataset(u12, bits_stored=12, photometric="MONOCHROME1", WindowCenter=1800, WindowWidth=3000),
        "s16 12 bits, rescale, window": dataset(s12, bits_stored=12, signed=True, RescaleSlope=2, RescaleIntercept=-100,
                                                WindowCenter=0, WindowWidth=3000),
        "s16 12 bits, no window: stored range": dataset(s12, bits_stored=12, signed=True),
        "u8, no window: stored range": dataset(u8, bits_allocated=8),
        "u16 10 bits, rescale, no window": dataset(np.floor(u12 / 4), bits_stored=10, RescaleSlope=0.5, RescaleIntercept=3),
        "LINEAR_EXACT window": dataset(u12, bits_stored=12, WindowCenter=2000, WindowWidth=900, VOILUTFunction="LINEAR_EXACT"),
        "SIGMOID window": dataset(u12, bits_stored=12, WindowCenter=2000, WindowWidth=900, VOILUTFunction="SIGMOID"),
        "VOI LUT Sequence over a window": dataset(
            u12, bits_stored=12, WindowCenter=10, WindowWidth=20,
            VOILUTSequence=[lut_item(100, 12, np.round(np.sqrt(np.arange(3000) / 3000) * 4095))]),
        "Modality LUT Sequence, window": dataset(
            u12, bits_stored=12, WindowCenter=30000, WindowWidth=40000,
            ModalityLUTSequence=[lut_item(0, 16, np.round(np.arange(4096) ** 1.3) % 65536)]),
        "MONOCHROME1 with padding range": dataset(u12, bits_stored=12, photometric="MONOCHROME1", WindowCenter=2048,
                                                  WindowWidth=4096, PixelPaddingValue=4095, PixelPaddingRangeLimit=3900),
        "multi-frame: the first frame": dataset(np.stack([u12, 4095 - u12, u12 // 2]), bits_stored=12, WindowCenter=2048,
                                                WindowWidth=4096),
    }
    for name, ds in cases.items():
        path = os.path.join(folder, name.replace(" ", "_").replace(",", "").replace(":", "") + ".dcm")
        ds.save_as(path, write_like_original=False)
        got, messages = decode(path)
        check(name, got, expected(path))
        if name.startswith("multi-frame") and "first frame" not in messages:
            print(f"FAIL multi-frame: no note about the first frame on stderr (got {messages!r})")
            failures.append("multi-frame note")

    # The other two native encodings: Implicit VR (no VRs), and Explicit VR Big Endian (retired, still met).
    implicit = dataset(s12, bits_stored=12, signed=True, RescaleSlope=2, RescaleIntercept=-100, WindowCenter=0,
                       WindowWidth=3000, VOILUTSequence=[lut_item(0, 16, np.arange(4096) * 16)])
    implicit.file_meta.TransferSyntaxUID, implicit.is_implicit_VR = ImplicitVRLittleEndian, True
    big = dataset(u12, bits_stored=12, photometric="MONOCHROME1", WindowCenter=1800, WindowWidth=3000)
    big.file_meta.TransferSyntaxUID, big.is_little_endian = ExplicitVRBigEndian, False
    big.PixelData = u12.astype(">u2").tobytes()
    for name, ds in [("Implicit VR Little Endian", implicit), ("Explicit VR Big Endian", big)]:
        path = os.path.join(folder, name.replace(" ", "_") + ".dcm")
        ds.save_as(path, write_like_original=False)
        check(name, decode(path)[0], expected(path))

    # Multi-frame and compressed: the first frame's fragments (pydicom's RLE with a Basic Offset
    # Table; GDCM's JPEG-LS, one fragment per frame).
    frames = dataset(np.stack([u12, 4095 - u12, u12 // 2]), bits_stored=12, WindowCenter=2048, WindowWidth=4096)
    raw = os.path.join(folder, "frames_raw.dcm")
    frames.save_as(raw, write_like_original=False)
    frames.compress(RLELossless, encoding_plugin="pydicom")
    rle = os.path.join(folder, "frames_rle.dcm")
    frames.save_as(rle, write_like_original=False)
    jpeg_ls = os.path.join(folder, "frames_jpegls.dcm")
    subprocess.run(["gdcmconv", "--jpegls", raw, jpeg_ls], check=True, capture_output=True)
    for name, path in [("multi-frame RLE (pydicom)", rle), ("multi-frame JPEG-LS (GDCM)", jpeg_ls)]:
        check(name, decode(path)[0], expected(raw))

    # Bits around the stored ones are overlays or garbage, never image (pydicom leaves them in).
    noisy = u12.astype(np.uint16) | (rng.integers(0, 2, u12.shape, dtype=np.uint16) << 15)
    path = os.path.join(folder, "overlay_bit.dcm")
    dataset(noisy, bits_stored=12, WindowCenter=2048, WindowWidth=4096).save_as(path, write_like_original=False)
    check("u16 12 bits with bit 15 set: masked", decode(path)[0], expected(path, stored=noisy & 0x0FFF))
    high = (u12.astype(np.uint16) << 4) | 0x5
    path = os.path.join(folder, "high_bit_15.dcm")
    dataset(high, bits_stored=12, high_bit=15, WindowCenter=2048, WindowWidth=4096).save_as(path, write_like_original=False)
    check("u16 12 bits at High Bit 15: shifted", decode(path)[0], expected(path, stored=high >> 4))

    # Every compression GDCM writes: lossless ones give the same pixels, lossy JPEG nearly.
    for source_name, source in [("u16 12 bits", dataset(u12, bits_stored=12, WindowCenter=2048, WindowWidth=4096)),
                                ("u8", dataset(u8, bits_allocated=8))]:
        raw = os.path.join(folder, source_name.replace(" ", "_") + "_raw.dcm")
        source.save_as(raw, write_like_original=False)
        want = expected(raw)
        for flag, compression in [("--rle", "RLE"), ("--jpeg", "JPEG lossless"), ("--jpegls", "JPEG-LS"),
                                  ("--j2k", "JPEG 2000 lossless"), ("--jpeg --lossy -q 95", "JPEG lossy"),
                                  ("--j2k --lossy -q 50", "JPEG 2000 lossy")]:
            path = raw.replace("_raw", "_" + compression.replace(" ", "_"))
            subprocess.run(["gdcmconv", *flag.split(), raw, path], check=True, capture_output=True)
            syntax = pydicom.dcmread(path).file_meta.TransferSyntaxUID
            assert syntax != ExplicitVRLittleEndian, f"gdcmconv {flag} left {path} uncompressed"
            got = decode(path)[0]
            if compression == "JPEG 2000 lossy":  # as GDCM decompresses the same file (gdcmconv --raw)
                back = path.replace(".dcm", "_raw_again.dcm")
                subprocess.run(["gdcmconv", "--raw", path, back], check=True, capture_output=True)
                check(f"{source_name}, {compression} ({syntax.name}) against gdcmconv --raw", got, decode(back)[0])
            elif compression == "JPEG lossy":
                error = float(np.mean(np.abs(got - want)))
                ok = error < 3
                print(f"{'ok  ' if ok else 'FAIL'} {source_name}, {compression} ({syntax.name}): "
                      f"mean |roentgen - uncompressed| = {error:.2f} gray levels (bound 3)")
                if not ok:
                    failures.append(compression)
            else:
                check(f"{source_name}, {compression} ({syntax.name})", got, want)

    # JPEG 2000 is decoded in a helper process (data/jpeg2000_process.h): a helper that crashes,
    # or none at all, is an error naming the file, and this process lives on.
    j2k = os.path.join(folder, "u8_JPEG_2000_lossless.dcm")
    crashing = os.path.join(folder, "crashing-decoder")
    open(crashing, "w").write("#!/bin/sh\nkill -SEGV $$\n")
    os.chmod(crashing, 0o755)
    for helper, needle in [(crashing, "its decoder process died of Segmentation fault"),
                           (os.path.join(folder, "no-such-decoder"), "cannot start the JPEG 2000 decoder")]:
        os.environ["ROENTGEN_J2K_DECODER"] = helper
        report_error(f"JPEG 2000 with the helper {os.path.basename(helper)}", j2k, needle)
    del os.environ["ROENTGEN_J2K_DECODER"]

    # Broken files: an error naming the file and what is wrong, never a crash.
    broken = {
        "color": (dataset(u8, bits_allocated=8, photometric="RGB", SamplesPerPixel=3, PlanarConfiguration=0,
                          PixelData=np.stack([u8] * 3, axis=-1).astype("u1").tobytes()),
                  "(0028,0004) Photometric Interpretation"),
        "huge": (dataset(u8, bits_allocated=8, Rows=60000, Columns=60000), "(0028,0010) Rows"),
        "no pixels": (dataset(u8, bits_allocated=8), "(7FE0,0010) Pixel Data"),
    }
    del broken["no pixels"][0].PixelData
    for name, (ds, needle) in broken.items():
        path = os.path.join(folder, name.replace(" ", "_") + ".dcm")
        ds.save_as(path, write_like_original=False)
        report_error(name, path, needle)
    for source in ["u8_raw.dcm", "u8_JPEG-LS.dcm"]:
        path = os.path.join(folder, "truncated_" + source)
        whole = open(os.path.join(folder, source), "rb").read()
        open(path, "wb").write(whole[: len(whole) * 3 // 4])
        report_error("truncated " + source, path, "DICOM")


def report_error(name, path, needle):
    try:
        decode(path)
        message = "(decoded without an error)"
    except RuntimeError as e:
        message = str(e)
    ok = path in message and needle in message
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {message}")
    if not ok:
        failures.append(name)


with tempfile.TemporaryDirectory() as folder:
    main(folder)
if failures:
    print(f"{len(failures)} failed: {', '.join(failures)}")
    sys.exit(1)
print("every DICOM case equals pydicom's pipeline")
