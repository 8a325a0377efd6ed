"""The package version, in a module of its own so that lower layers need not import the package root.

Keep it equal to ``version`` in pyproject.toml (tests/test_layers.py checks that they agree).
"""
__version__ = "0.1.0"
