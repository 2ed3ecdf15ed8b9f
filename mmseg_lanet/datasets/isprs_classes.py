"""The ISPRS 2D semantic labeling classes, shared by data sets, converters,
the synthetic sample generator and the metric.

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
