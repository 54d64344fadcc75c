#!/usr/bin/env python3
"""Writes tests/fuzz/corpus/<target>/: the fuzzers' seed inputs — small valid files of every kind
each parser reads, and the inputs that once crashed a decoder (issue 10). Deterministic.

    /usr/bin/python3 tools/make_fuzz_corpus.py
(needs Pillow, NumPy, pydicom and gdcmconv: Debian's python3-pil, python3-pydicom, libgdcm-tools)
"""
import gzip
import io
import os
import struct
import subprocess
import tempfile
import zlib

import numpy as np
from PIL import Image

import dicom_files
import model_metadata
import safetensors_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fuzz", "corpus")


def write(target, name, data):
    os.makedirs(os.path.join(OUT, target), exist_ok=True)
    with open(os.path.join(OUT, target, name), "wb") as f:
        f.write(data)


def gz(text):
    return gzip.compress(text.encode() if isinstance(text, str) else text, mtime=0)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def safetensors_bytes(tensors, metadata):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, ".tmp.safetensors")
    safetensors_file.write(path, tensors, metadata)
    with open(path, "rb") as f:
        data = f.read()
    os.remove(path)
    return data


def main():
    # Model files: a valid header and metadata (a tensor or two, not a whole DenseNet), and variants.
    meta = model_metadata.metadata("densenet121", ["Mass", "Hernia"], 224, "sample", 1e-5)
    tensors = [("classifier.weight", np.arange(6, dtype=np.float32).reshape(2, 3)),
               ("classifier.bias", np.zeros(2, dtype=np.float64)),
               ("features.norm0.num_batches_tracked", np.array(3, dtype=np.int64))]
    write("safetensors", "model.safetensors", safetensors_bytes(tensors, meta))
    write("safetensors", "dataset_normalization.safetensors",
          safetensors_bytes(tensors[:1], dict(meta, normalization="dataset:120.5,60.25")))
    write("safetensors", "no_metadata.safetensors", safetensors_bytes(tensors[2:], {}))
    record = dict(meta, patients_salt="0123456789abcdef" * 2, patients_train="0123456789abcdef" + "fedcba9876543210",
                  patients_valid="")  # models/patient_record.h
    write("safetensors", "patient_record.safetensors", safetensors_bytes(tensors[:1], record))
    bf16 = np.array([0x3F80, 0x7FC0, 0x0001, 0xFF80], dtype=np.uint16)  # 1, NaN, a subnormal, -inf as bfloat16 bits
    write("safetensors", "bfloat16.safetensors", safetensors_bytes([("classifier.bias", bf16)], meta))

    # Label files: both formats, quoted fields, CRLF, a byte order mark, gzip.
    notebook = "Image,Atelectasis,Mass,PatientId\na_000.png,1,0,8270\nb_000.png,0.0,1.0,29855\n"
    nih = ("Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age\n"
           "00000001_000.png,Cardiomegaly|Mass,0,1,58\n00000002_000.png,No Finding,0,2,81\n")
    write("labels", "notebook.csv", notebook.encode())
    write("labels", "nih.csv", nih.encode())
    write("labels", "quoted_crlf_bom.csv", b'\xef\xbb\xbf"Image","Mass","PatientId"\r\n"a,1.png",1,"7"\r\n')
    write("labels", "notebook.csv.gz", gz(notebook))
    write("labels", "missing.csv", b"Image,Mass,Hernia,PatientId\nx.png,,1,7\ny.png,0,,8\n")
    chexpert = ("Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,Enlarged Cardiomediastinum,Cardiomegaly,Lung Opacity,"
                "Lung Lesion,Edema,Consolidation,Pneumonia,Atelectasis,Pneumothorax,Pleural Effusion,Pleural Other,"
                "Fracture,Support Devices\n"
                "CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg,Female,68,Frontal,AP,1.0,,,,,,,,,0.0,,,,1.0\n"
                "CheXpert-v1.0-small/train/patient00002/study2/view2_lateral.jpg,Male,87,Lateral,,,,-1.0,1.0,,,,,,,-1.0,,,\n")
    write("labels", "chexpert.csv", chexpert.encode())
    vindr_findings = ["Aortic enlargement", "Atelectasis", "Calcification", "Cardiomegaly", "Clavicle fracture",
                      "Consolidation", "Edema", "Emphysema", "Enlarged PA", "ILD", "Infiltration", "Lung Opacity",
                      "Lung cavity", "Lung cyst", "Mediastinal shift", "Nodule/Mass", "Pleural effusion",
                      "Pleural thickening", "Pneumothorax", "Pulmonary fibrosis", "Rib fracture", "Other lesion", "COPD",
                      "Lung tumor", "Pneumonia", "Tuberculosis", "Other disease", "No finding"]
    rows = [f"a,R{r}," + ",".join("1" if (k + r) % 5 == 0 else "0" for k in range(28)) for r in range(3)]
    write("labels", "vindr.csv", ("image_id,rad_id," + ",".join(vindr_findings) + "\n" + "\n".join(rows) + "\n").encode())
    write("labels", "padchest.csv", b"ImageID,ImageDir,PatientID,Projection,Labels\n"
                                    b"1.png,0,p1,PA,\"['pneumonia', 'infiltrates']\"\n2.png,3,p1,L,\"['normal']\"\n")
    write("labels", "rsna.csv", b"patientId,x,y,width,height,Target\na,,,,,0\nb,1,2,3,4,1\nb,5,6,7,8,1\n")
    write("labels", "nih.csv.gz", gz(nih))

    # Predictions for the fuzzer's fixed labels (a.png .. d.png; Mass, Hernia).
    preds = "Image,Mass,Hernia\na.png,0.9,0.1\nb.png,0.2,0.8\nc.png,0.7,0.6\nd.png,0.1,0.05\n"
    write("predictions", "preds.csv", preds.encode())
    write("predictions", "prob_columns.csv", b"Image Index,prob_Mass,prob_Hernia\nc.png,1e-3,1\na.png,0,0.5\n")
    write("predictions", "preds.csv.gz", gz(preds))

    # Images: each PNG layout and JPEG kind, small.
    rng = np.random.default_rng(0)
    gray = (rng.random((12, 16)) * 255).astype(np.uint8)
    def png(image, **options):
        b = io.BytesIO()
        image.save(b, format="PNG", **options)
        return b.getvalue()
    def jpeg(image, **options):
        b = io.BytesIO()
        image.save(b, format="JPEG", **options)
        return b.getvalue()
    write("image", "gray8.png", png(Image.fromarray(gray)))
    write("image", "gray16.png", png(Image.fromarray(gray.astype(np.uint16) * 257)))
    write("image", "rgb.png", png(Image.fromarray(np.stack([gray] * 3, axis=-1))))
    write("image", "rgba.png", png(Image.fromarray(np.stack([gray] * 4, axis=-1))))
    write("image", "palette.png", png(Image.fromarray(gray).convert("P")))
    write("image", "gray1.png", png(Image.fromarray(gray > 128)))
    write("image", "gray.jpg", jpeg(Image.fromarray(gray), quality=80))
    write("image", "color.jpg", jpeg(Image.fromarray(np.stack([gray, gray[::-1], gray[:, ::-1]], axis=-1)), quality=80))
    write("image", "progressive.jpg", jpeg(Image.fromarray(gray), quality=80, progressive=True))
    # Inputs that crashed stb_image 2.27: a huffman table header without its counts; an empty IDAT.
    write("image", "crash_huffman.jpg", bytes([0xFF, 0xD8, 0xFF, 0xC4, 0x01, 0xA2, 0x00, 0xFF, 0xD9]))
    write("image", "crash_empty_idat.png", b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)) +
          png_chunk(b"IDAT", b"") + png_chunk(b"IEND", b""))
    write_dicom_seeds()
    print("wrote", os.path.normpath(OUT))


def write_dicom_seeds():
    """DICOM: each case of data/dicom.h's pipeline, small, and the 12-bit one in each compression.
    gdcmconv stamps each file it writes with new UIDs, so the compressed seeds differ, but only
    there, from run to run."""
    rng = np.random.default_rng(1)
    u12 = rng.integers(0, 4096, (32, 32))  # OpenJPEG fails on 8x8
    lut = dicom_files.lut_item(0, 12, np.arange(4096) // 2)
    seeds = {
        "u16_window.dcm": dicom_files.dataset(u12, bits_stored=12, WindowCenter=[2048, 1000], WindowWidth=[1024, 500]),
        "mono1_padding.dcm": dicom_files.dataset(u12, bits_stored=12, photometric="MONOCHROME1", PixelPaddingValue=0),
        "signed_rescale.dcm": dicom_files.dataset(u12 - 2048, bits_stored=12, signed=True, RescaleSlope=2,
                                                  RescaleIntercept=-10, VOILUTFunction="SIGMOID", WindowCenter=0,
                                                  WindowWidth=100),
        "voi_lut.dcm": dicom_files.dataset(u12, bits_stored=12, VOILUTSequence=[lut]),
        "modality_lut.dcm": dicom_files.dataset(u12, bits_stored=12, ModalityLUTSequence=[lut]),
        "frames.dcm": dicom_files.dataset(np.stack([u12, u12 // 2]), bits_stored=12),
        "u8.dcm": dicom_files.dataset(u12 // 16, bits_allocated=8),
    }
    with tempfile.TemporaryDirectory() as folder:
        for name, ds in seeds.items():
            path = os.path.join(folder, name)
            ds.save_as(path, write_like_original=False)
            write("dicom", name, open(path, "rb").read())
        for flag in ["--rle", "--jpeg", "--jpegls", "--j2k"]:
            path = os.path.join(folder, f"u16_window{flag.replace('--', '_')}.dcm")
            subprocess.run(["gdcmconv", flag, os.path.join(folder, "u16_window.dcm"), path], check=True)
            write("dicom", os.path.basename(path), open(path, "rb").read())


if __name__ == "__main__":
    main()
