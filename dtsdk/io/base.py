"""The :class:`Exporter` contract: one animation file format."""
from __future__ import annotations

import os

from dtsdk.animation import Animation
from dtsdk.errors import FormatError


class Exporter:
    """One file format. Subclass, set ``name``/``extensions``, implement ``write`` (and ``read``).

    ``write`` must be atomic (use :func:`dtsdk.utils.atomic.atomic_path`/``atomic_open``): a failure
    leaves no file at ``path``. ``read`` returns an :class:`Animation` equal to what was written, up
    to the format's precision and channel set.
    """

    name: str = ""
    extensions: tuple[str, ...] = ()  # lower-case, with the dot: (".csv",)
    description: str = ""
    writes_directory: bool = False  # True for formats that write a folder (OBJ sequences)
    # False for formats that store geometry, not weights (.npy vertex arrays): reading one back gives
    # vertices, so the weights cannot round-trip.
    stores_weights: bool = True
    # What else a written file keeps; ExporterContract checks each declared one survives a round trip,
    # so a format without room for it (a plain weights table) must say False rather than drop it silently.
    stores_head_pose: bool = True  # Animation.head_pose (yaw, pitch, roll in radians)
    stores_meta: bool = True  # the items of Animation.meta (readers may add their own, such as "source")
    stores_rig_name: bool = True  # Animation.rig comes back as written

    def write(self, animation: Animation, path: str | os.PathLike, **options) -> None:
        raise NotImplementedError

    def read(self, path: str | os.PathLike, **options) -> Animation:
        raise FormatError(f"{os.fspath(path)}: the '{self.name}' format cannot be read back")

    @property
    def can_read(self) -> bool:
        return type(self).read is not Exporter.read

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, extensions={self.extensions!r})"
