"""Readers of motion-capture datasets (Live Link Face, VOCASET, BIWI layouts)."""
