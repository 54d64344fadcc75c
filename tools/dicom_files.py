"""Small DICOM files for the tests and the fuzzer's seeds, written with pydicom (Debian's
python3-pydicom): a gray radiograph's data set with the pixel module's fields set as given."""
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

DIGITAL_XRAY = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage, for presentation


def dataset(pixels, bits_allocated=16, bits_stored=None, high_bit=None, signed=False, photometric="MONOCHROME2", **extra):
    """`pixels` [rows, columns] or [frames, rows, columns], uncompressed (Explicit VR Little Endian);
    `extra` sets any other field by its pydicom keyword (WindowCenter=..., RescaleSlope=...)."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = DIGITAL_XRAY
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[str(np.asarray(pixels).tobytes()), str(extra)])
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PatientID = "DX", "P0001"
    ds.Rows, ds.Columns = pixels.shape[-2:]
    if pixels.ndim == 3:
        ds.NumberOfFrames = pixels.shape[0]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.BitsAllocated = bits_allocated
    ds.BitsStored = bits_stored or bits_allocated
    ds.HighBit = ds.BitsStored - 1 if high_bit is None else high_bit
    ds.PixelRepresentation = 1 if signed else 0
    dtype = {8: "u1", 16: "u2", 32: "u4"}[bits_allocated] if not signed else {8: "i1", 16: "i2", 32: "i4"}[bits_allocated]
    ds.PixelData = pixels.astype("<" + dtype).tobytes()
    for key, value in extra.items():
        setattr(ds, key, value)
    return ds


def lut_item(first, bits, entries):
    """An item of a Modality or VOI LUT Sequence: `entries` output values of `bits` bits from `first` on."""
    item = Dataset()
    item.add_new(0x00283002, "US", [len(entries) % 65536, first, bits])  # LUT Descriptor
    item.add_new(0x00283006, "US", [int(v) for v in entries])  # LUT Data
    return item
