"""Synthetic GC-GAN training data: the ``dtface`` rig rendered as many made-up people.

Everything here is synthetic. A person ("identity") is a seeded draw of a face shape (smooth
vertex-space deformations of the dtface template: face width, jaw width, chin length, nose size,
eye spacing), a skin tone, a light and a camera jitter; each person is rendered at several
expressions given as ARKit-52 weights, and the rig's iBUG-68 landmark vertices are projected with
the same camera. One sample is (image, landmarks, expression label, identity id).

Within one identity only the expression changes (same camera, light and skin), so a
(source, target) pair of the same person is what GC-GAN's L1 reconstruction term needs.

Landmarks are normalised image coordinates: ``x_norm = 2 * x_px / size - 1`` (and the same for y,
which points down), where ``x_px`` is the pixel coordinate with pixel centres at +0.5; so (-1, -1)
is the top-left corner of the image and (1, 1) the bottom-right.

The renderer's own :func:`dtsdk.renderer.render_frames` has a fixed camera, light and palette (it
makes previews); this module builds on its pieces (``Camera``, ``rasterize``, ``vertex_normals``)
to vary them instead of adding knobs to the preview path.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from dtsdk.errors import DtsdkError

# The expression classes: ARKit-52 weights of each prototype. The label is the index in this
# tuple; the classifier head of the discriminator and the contrastive pair rule read it. The six
# classes follow the paper's Multi-PIE set with "scream" named for what the rig does (open mouth).
EXPRESSIONS: tuple[tuple[str, dict[str, float]], ...] = (
    ("neutral", {}),
    ("smile", {"mouthSmileLeft": 0.9, "mouthSmileRight": 0.9, "cheekSquintLeft": 0.4, "cheekSquintRight": 0.4,
               "eyeSquintLeft": 0.2, "eyeSquintRight": 0.2}),
    ("open_mouth", {"jawOpen": 0.85, "mouthLowerDownLeft": 0.4, "mouthLowerDownRight": 0.4,
                    "mouthStretchLeft": 0.3, "mouthStretchRight": 0.3}),
    ("surprise", {"browInnerUp": 0.9, "browOuterUpLeft": 0.8, "browOuterUpRight": 0.8, "eyeWideLeft": 0.8,
                  "eyeWideRight": 0.8, "jawOpen": 0.35, "mouthFunnel": 0.3}),
    ("squint", {"eyeSquintLeft": 0.9, "eyeSquintRight": 0.9, "eyeBlinkLeft": 0.45, "eyeBlinkRight": 0.45,
                "browDownLeft": 0.5, "browDownRight": 0.5}),
    ("disgust", {"noseSneerLeft": 0.9, "noseSneerRight": 0.9, "mouthUpperUpLeft": 0.7, "mouthUpperUpRight": 0.7,
                 "browDownLeft": 0.6, "browDownRight": 0.6, "mouthFrownLeft": 0.5, "mouthFrownRight": 0.5}),
)
EXPRESSION_NAMES = tuple(name for name, _ in EXPRESSIONS)
NUM_EXPRESSIONS = len(EXPRESSIONS)
# The label of a speech frame drawn from a corpus: none of the six. The nearest prototype in weight
# space would call 98% of the default corpus's frames neutral (measured), which would teach the
# classifier and the contrastive pairs that a half-open mouth is neutral; unlabelled samples train
# the image terms (reconstruction, adversarial, feature matching) and L_gr only.
UNLABELLED = -1

# Skin albedo (linear-ish RGB 0..1) from light to dark; a person's tone is a blend of two neighbours.
SKIN_TONES = np.array([(0.93, 0.78, 0.68), (0.86, 0.66, 0.55), (0.74, 0.54, 0.42), (0.58, 0.40, 0.30),
                       (0.42, 0.28, 0.20), (0.30, 0.20, 0.15)], np.float32)


@dataclass(frozen=True)
class Identity:
    """One made-up person: face shape, colours, light and camera jitter (all drawn by :func:`draw_identity`)."""
    identity_id: int
    face_width: float  # x scale of the head, 1 = the template
    jaw_width: float  # extra x scale below the mouth
    chin_mm: float  # chin pushed down (+) or up (-)
    nose_scale: float  # nose size about its bridge
    eye_offset_mm: float  # each eye moved outward (+) or inward (-)
    skin: tuple[float, float, float]
    lips: tuple[float, float, float]
    brows: tuple[float, float, float]
    background: tuple[int, int, int]
    light_dir: tuple[float, float, float]  # toward the key light, camera space
    ambient: float
    key_strength: float
    camera_ypr: tuple[float, float, float]  # radians: the camera's small turn about the face
    zoom: float  # focal length factor
    shift_px: tuple[float, float]  # principal point shift, as a fraction of the image size


@dataclass
class SyntheticSet:
    """Rendered samples, stacked: ``images`` uint8 (N, H, W, 3), ``landmarks`` float32 (N, 68, 2) in
    [-1, 1], ``labels`` int64 (N,) indices into :data:`EXPRESSION_NAMES` (or :data:`UNLABELLED`),
    ``identities`` int64 (N,)."""
    images: np.ndarray
    landmarks: np.ndarray
    labels: np.ndarray
    identities: np.ndarray
    backgrounds: np.ndarray  # uint8 (N, 3): each image's plain background colour

    def __len__(self) -> int:
        return len(self.labels)


def draw_identity(identity_id: int, seed: int = 0) -> Identity:
    """The person ``identity_id`` of the population ``seed``: the same numbers give the same person."""
    rng = np.random.default_rng([seed, identity_id])
    tone = rng.uniform(0, len(SKIN_TONES) - 1)
    lo = int(np.floor(tone))
    hi = min(lo + 1, len(SKIN_TONES) - 1)
    skin = (1 - (tone - lo)) * SKIN_TONES[lo] + (tone - lo) * SKIN_TONES[hi]
    lips = skin * np.array([0.85, 0.55, 0.58]) * rng.uniform(0.85, 1.0)
    brows = skin * rng.uniform(0.25, 0.45)
    light = np.array([rng.uniform(-0.7, 0.7), rng.uniform(-0.1, 0.7), rng.uniform(0.5, 0.9)])
    light /= np.linalg.norm(light)
    grey = rng.uniform(150, 245)
    background = np.clip(grey + rng.uniform(-15, 15, 3), 0, 255).astype(int)
    return Identity(
        identity_id=int(identity_id), face_width=float(rng.uniform(0.9, 1.1)),
        jaw_width=float(rng.uniform(0.88, 1.12)), chin_mm=float(rng.uniform(-6, 8)),
        nose_scale=float(rng.uniform(0.8, 1.3)), eye_offset_mm=float(rng.uniform(-3, 3)),
        skin=tuple(map(float, skin)), lips=tuple(map(float, lips)), brows=tuple(map(float, brows)),
        background=tuple(map(int, background)), light_dir=tuple(map(float, light)),
        ambient=float(rng.uniform(0.2, 0.4)), key_strength=float(rng.uniform(0.55, 0.85)),
        camera_ypr=tuple(map(float, np.radians(rng.uniform(-6, 6, 3)))), zoom=float(rng.uniform(0.92, 1.05)),
        shift_px=tuple(map(float, rng.uniform(-0.03, 0.03, 2))),
    )


def _gauss(points: np.ndarray, center, radius_mm: float) -> np.ndarray:
    """Smooth weight (V,) in 0..1 around ``center`` (x, y, z mm): a deformation's falloff."""
    d2 = ((points - np.asarray(center, np.float32)) ** 2).sum(1)
    return np.exp(-d2 / (2 * radius_mm ** 2)).astype(np.float32)


def deform_face(vertices_mm: np.ndarray, person: Identity) -> np.ndarray:
    """Apply ``person``'s face shape to rig vertices (V, 3) mm (template or an expression of it).

    Every deformation is a smooth function of position, so applying it after the expression keeps
    the expression's shape; the eyeballs move with the eye region because they lie inside it.
    """
    from dtsdk.rigs.dtface import proportions as P

    v = np.array(vertices_mm, np.float32)  # (V, 3)
    x, y = v[:, 0].copy(), v[:, 1].copy()
    # Jaw: widen or narrow below the mouth line, fading in over 30 mm; the chin moves with it.
    below = np.clip((P.MOUTH_Y + 10.0 - y) / 30.0, 0, 1)  # (V,) 0 above the mouth, 1 at the chin
    v[:, 0] = x * (1 + (person.jaw_width - 1) * below)
    v[:, 1] = y - person.chin_mm * below * np.clip((y - P.NECK_BOTTOM_Y) / 80.0, 0, 1)
    # Nose: scale about the bridge, fading with distance from the nose.
    bridge = np.array([0.0, -8.0, 100.0], np.float32)
    w = _gauss(v, bridge, 16.0)[:, None]  # (V, 1)
    v = v + (person.nose_scale - 1) * w * (v - bridge)
    # Eye spacing: move each eye region outward along x.
    for side in (-1.0, 1.0):
        w = _gauss(v, (side * P.EYE_X, P.EYE_Y, 80.0), 16.0)
        v[:, 0] += side * person.eye_offset_mm * w
    v[:, 0] *= person.face_width
    return v


@lru_cache(maxsize=1)
def _rig():
    from dtsdk.rigs import get_rig

    return get_rig("dtface")


@lru_cache(maxsize=1)
def _soft_border_weights():
    """The renderer's lip/brow border softening as a linear map, so it applies to any palette cheaply."""
    from dtsdk.renderer.shading import soften_part_borders

    rig = _rig()
    parts = np.asarray(rig.part_ids)
    one_hot = np.eye(7, dtype=np.float32)[parts]  # (V, 7): softening is linear in the colours
    return soften_part_borders(one_hot, rig.faces, rig.part_ids, keep=0.6)  # (V, 7)


def person_albedo(person: Identity) -> np.ndarray:
    """Per-vertex base colour (V, 3) 0..1: the renderer's part palette with this person's skin, lips, brows."""
    from dtsdk.renderer.shading import PART_COLORS
    from dtsdk.rigs.base import PART_BROW, PART_LIPS, PART_SKIN

    palette = PART_COLORS.copy()  # (7, 3)
    palette[PART_SKIN], palette[PART_LIPS], palette[PART_BROW] = person.skin, person.lips, person.brows
    return _soft_border_weights() @ palette  # (V, 3)


@lru_cache(maxsize=4)
def _front_camera(size: int):
    from dtsdk.renderer.camera import Camera

    rig = _rig()
    return Camera.framing(rig.template_mm, size, "front", landmarks68=rig.landmarks68)


def person_camera(person: Identity, size: int):
    """The renderer's front framing of dtface at ``size`` px, turned, zoomed and shifted by ``person``."""
    from dtsdk.renderer.camera import rotation_ypr

    cam = _front_camera(size)
    turn = rotation_ypr(*person.camera_ypr)
    px, py = cam.principal_px
    return dataclasses.replace(cam, view_rotation=turn @ cam.view_rotation, focal_px=cam.focal_px * person.zoom,
                               principal_px=(px + person.shift_px[0] * size, py + person.shift_px[1] * size))


def _shade(cam: np.ndarray, normals: np.ndarray, base: np.ndarray, person: Identity) -> np.ndarray:
    """Lambert key light from ``person.light_dir`` plus ambient and a weak specular; (V, 3) 0..1."""
    n = np.where(normals[:, 2:3] < 0, -normals, normals)  # lit from the front, like the preview shader
    key = np.asarray(person.light_dir, np.float32)
    diffuse = person.ambient + person.key_strength * np.clip(n @ key, 0, None)
    half = key + np.array((0, 0, 1), np.float32)
    spec = 0.1 * np.clip(n @ (half / np.linalg.norm(half)), 0, None) ** 24
    return np.clip(base * diffuse[:, None] + spec[:, None], 0, 1).astype(np.float32)


def expression_weights(label: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """ARKit-52 weights (52,) of expression ``label``: the prototype, or with ``rng`` a sampled variant
    (intensity 0.6-1.1 of the prototype, plus a little of a few random other shapes)."""
    from dtsdk.rigs.arkit import ARKIT52

    if not 0 <= label < NUM_EXPRESSIONS:
        raise DtsdkError(f"expression label {label} is out of range; known: 0..{NUM_EXPRESSIONS - 1} "
                         f"({', '.join(EXPRESSION_NAMES)})")
    weights = np.zeros(52, np.float32)
    for name, value in EXPRESSIONS[label][1].items():
        weights[ARKIT52.index(name)] = value
    if rng is not None:
        weights *= rng.uniform(0.6, 1.1)
        others = rng.choice(52, size=4, replace=False)
        # Small enough that a sampled neutral still reads as neutral.
        weights[others] += rng.uniform(0, 0.12, len(others))
    return np.clip(weights, 0, 1)


def _posed_vertices(person: Identity, arkit_weights: np.ndarray) -> np.ndarray:
    """dtface at ARKit weights (52,) with ``person``'s face shape: vertices (V, 3) mm."""
    rig = _rig()
    weights = np.asarray(arkit_weights, np.float32)  # (52,)
    active = np.flatnonzero(weights)  # most shapes are off: skip their deltas
    verts = rig.template_mm + np.tensordot(weights[active], rig.deltas_mm[active], axes=1)  # (V, 3)
    return deform_face(verts, person)


def person_landmarks(person: Identity, arkit_weights: np.ndarray) -> np.ndarray:
    """The landmarks (68, 2) in [-1, 1] that :func:`render_person` would give, without rendering."""
    verts = _posed_vertices(person, arkit_weights)[_rig().landmarks68]  # (68, 3)
    camera = person_camera(person, 256)
    return (camera.project(camera.to_camera_space(verts))[:, :2] / 256 * 2 - 1).astype(np.float32)


@lru_cache(maxsize=1)
def mean_neutral_landmarks(num_identities: int = 64, seed: int = 0) -> np.ndarray:
    """The population's average neutral face, landmarks (68, 2) in [-1, 1]: the frame photos are
    aligned to, and the neutral assumed for an expression source whose own neutral is not known."""
    points = [person_landmarks(draw_identity(i, seed), np.zeros(52, np.float32)) for i in range(num_identities)]
    return np.mean(points, axis=0).astype(np.float32)


def render_person(person: Identity, arkit_weights: np.ndarray, size: int = 64,
                  supersample: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Render ``person`` at ARKit weights (52,); returns (uint8 (size, size, 3), landmarks (68, 2) in [-1, 1])."""
    from dtsdk.renderer.raster import box_downsample, rasterize, vertex_normals

    rig = _rig()
    full = size * supersample
    verts = _posed_vertices(person, arkit_weights)  # (V, 3)
    camera = person_camera(person, full)
    cam = camera.to_camera_space(verts)  # (V, 3)
    colors = _shade(cam, vertex_normals(cam, rig.faces), person_albedo(person), person)  # (V, 3)
    screen = camera.project(cam)  # (V, 3) px at the supersampled size
    image = rasterize(screen, colors, rig.faces, (full, full), person.background)
    if supersample > 1:
        image = box_downsample(image, supersample)  # (size, size, 3)
    landmarks = screen[rig.landmarks68, :2] / full * 2 - 1  # (68, 2): the same in any resolution
    return image, landmarks.astype(np.float32)


def corpus_frames(root, split: str = "train") -> np.ndarray:
    """Every motion frame of the ``split`` clips of the dtsdk corpus at ``root``: ARKit weights (N, 52).

    Speech as the corpus articulates it (visemes, coarticulation, blinks, brows, per-speaker styles),
    so the portrait learns the mouth shapes a talking portrait is driven through, which the six
    prototypes and their variants do not cover."""
    from dtsdk.animation import Animation
    from dtsdk.corpus.manifest import read_manifest

    clips = [c for c in read_manifest(root)["clips"] if c["split"] == split]
    if not clips:
        raise DtsdkError(f"{root}: the corpus has no '{split}' clips to draw expressions from")
    return np.concatenate([Animation.load(Path(root) / c["motion"]).arkit_weights() for c in clips])


def generate(num_identities: int, expressions_per_identity: int = NUM_EXPRESSIONS, size: int = 64,
             seed: int = 0, prototypes: bool = True, first_identity: int = 0, speech_frames: np.ndarray | None = None,
             speech_per_identity: int = 0) -> SyntheticSet:
    """Render ``num_identities`` people at ``expressions_per_identity`` expressions each.

    With ``prototypes`` each person shows the labelled prototypes first (neutral, smile, ...), then
    sampled variants; without, all are sampled variants of randomly chosen labels. With
    ``speech_frames`` (ARKit weights (N, 52), e.g. :func:`corpus_frames`) each person also shows
    ``speech_per_identity`` of them drawn at random, labelled :data:`UNLABELLED`.
    Identities are numbered from ``first_identity``, so held-out people can be drawn from the same
    population.
    """
    if num_identities < 1 or expressions_per_identity < 1:
        raise DtsdkError("the synthetic set needs at least one identity and one expression per identity")
    if not 16 <= size <= 1024:
        raise DtsdkError(f"image size must be between 16 and 1024 pixels, got {size}")
    rng = np.random.default_rng([seed, 1 << 20])
    speech_rng = np.random.default_rng([seed, 1 << 21])  # its own stream: the other samples stay as they were
    if speech_per_identity and (speech_frames is None or not len(speech_frames)):
        raise DtsdkError("speech_per_identity needs speech frames (a corpus) to draw from")
    images, landmarks, labels, identities, backgrounds = [], [], [], [], []
    for identity_id in range(first_identity, first_identity + num_identities):
        person = draw_identity(identity_id, seed)
        for k in range(expressions_per_identity + speech_per_identity):
            if k >= expressions_per_identity:
                weights = np.clip(speech_frames[speech_rng.integers(len(speech_frames))], 0, 1)
                label = UNLABELLED
            elif prototypes and k < NUM_EXPRESSIONS:
                label, weights = k, expression_weights(k)
            else:
                label = int(rng.integers(NUM_EXPRESSIONS))
                weights = expression_weights(label, rng)
            image, points = render_person(person, weights, size)
            images.append(image)
            landmarks.append(points)
            labels.append(label)
            identities.append(identity_id)
            backgrounds.append(person.background)
    return SyntheticSet(np.stack(images), np.stack(landmarks), np.asarray(labels, np.int64),
                        np.asarray(identities, np.int64), np.asarray(backgrounds, np.uint8))
