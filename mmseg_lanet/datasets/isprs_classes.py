"""The ISPRS 2D semantic labeling classes and height bands, shared by data
sets, converters, the synthetic sample generator, the metric and the
predictor.

Class indices follow the ISPRS order (and MMSegmentation's ``PotsdamDataset``
names): 0 impervious surfaces, 1 building, 2 low vegetation, 3 tree, 4 car,
5 clutter/background. Index 255 marks ignored pixels (the black boundary of
the eroded reference, or a colour that could not be decoded).
"""

ISPRS_CLASSES = ('impervious_surface', 'building', 'low_vegetation', 'tree',
                 'car', 'clutter')

# RGB colour of each class in the official label TIFFs, in class-index order.
ISPRS_PALETTE = ((255, 255, 255), (0, 0, 255), (0, 255, 255), (0, 255, 0),
                 (255, 255, 0), (255, 0, 0))

# Eroded ("noBoundary") references paint object boundaries, a disc of radius
# 3 px, in black; those pixels are excluded from evaluation.
BOUNDARY_COLOUR = (0, 0, 0)
BOUNDARY_RADIUS = 3

IGNORE_INDEX = 255

# Band names that denote heights, stored in a file of their own
# (``dsm_path``, ``--dsm``) rather than as a band of the optical file.
# Potsdam's is usually the normalised DSM.
HEIGHT_BANDS = ('DSM', 'nDSM')


def known_class_names(classes, num_classes: int):
    """``classes`` (a model's own names, e.g. its checkpoint's) when they
    name its ``num_classes`` classes, else the ISPRS classes for a 6-class
    model, else None."""
    if classes is not None and len(classes) == num_classes:
        return tuple(classes)
    return ISPRS_CLASSES if num_classes == len(ISPRS_CLASSES) else None
