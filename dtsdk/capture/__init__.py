"""Readers of motion-capture datasets (Live Link Face, VOCASET, BIWI layouts)."""
from dtsdk.capture.base import CaptureClip, CaptureReader

__all__ = ["CaptureClip", "CaptureReader"]
