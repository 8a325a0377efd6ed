"""Packaged model checkpoints (data only): ``default/`` is what ``Talker()`` loads."""
