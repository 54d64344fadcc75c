"""The metadata of roentgen's model file, shared by the converters."""

CHESTXRAY14 = ["Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Effusion", "Emphysema", "Fibrosis",
               "Hernia", "Infiltration", "Mass", "Nodule", "Pleural_Thickening", "Pneumonia", "Pneumothorax"]

ARCHITECTURES = {(6, 12, 24, 16): "densenet121", (6, 12, 32, 32): "densenet169", (6, 12, 48, 32): "densenet201"}


def architecture(block_layers):
    """The DenseNet name for the number of dense layers in each block."""
    name = ARCHITECTURES.get(tuple(block_layers))
    if name is None:
        raise SystemExit(f"unknown DenseNet configuration: blocks {tuple(block_layers)} "
                         f"(known: {', '.join(f'{v} {k}' for k, v in ARCHITECTURES.items())})")
    return name


def labels_for(spec, classes):
    """--labels: 'chestxray14', 'imagenet', or comma-separated names; default by class count."""
    if spec in (None, ""):
        spec = "chestxray14" if classes == 14 else "imagenet" if classes == 1000 else None
    if spec == "chestxray14":
        names = CHESTXRAY14
    elif spec == "imagenet" or spec is None:
        names = [f"class{i}" for i in range(classes)]
    else:
        names = [s for s in spec.split(",") if s]
    if len(names) != classes:
        raise SystemExit(f"{len(names)} labels given for a classifier with {classes} outputs")
    return names


def metadata(arch, labels, image_size, normalization, bn_eps):
    return {"architecture": arch, "labels": ",".join(labels), "image_size": str(image_size),
            "normalization": normalization, "bn_eps": repr(float(bn_eps)), "format": "roentgen"}
