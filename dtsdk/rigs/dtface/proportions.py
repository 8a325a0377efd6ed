"""Measurements of the dtface head, in millimetres.

Coordinates: right-handed, +Y up, the face looks toward +Z, +X is the subject's left.
The origin sits inside the skull, about ear height; the crown is at y = +125 and the chin at
y = -105, so the head is 230 mm tall and 150 mm wide. The numbers follow classic drawing
proportions (eyes half-way down the head, mouth a third of the way from nose to chin).
"""
from __future__ import annotations

CROWN_Y = 125.0
NECK_BOTTOM_Y = -200.0

EYE_Y = 12.0  # height of the eye slit (where the lids meet at rest)
EYE_X = 32.0  # |x| of each eye centre; 64 mm between the pupils
EYE_HALF_WIDTH = 12.0  # half the width of the eye opening, corner to corner
EYEBALL_RADIUS = 12.5  # a little larger than the half opening, so the opening never shows the skull
UPPER_LID_RAISE = 5.0  # how far the upper lid rim sits above the slit at rest
LOWER_LID_DROP = 3.6

MOUTH_Y = -55.0  # height of the lip slit
MOUTH_HALF_WIDTH = 25.0  # corner of the mouth
NEUTRAL_LIP_GAP = 0.8  # the lips barely part at rest, so the slit reads as a dark line

BROW_Y = 28.0

# Jaw hinge (temporomandibular joint), just in front of the ear.
JAW_HINGE_Y = -22.0
JAW_HINGE_Z = -12.0
JAW_OPEN_RAD = 0.15  # about 18 mm of chin travel at weight 1
