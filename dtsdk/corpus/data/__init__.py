"""Package data: the corpus sentence list (an __init__ so setuptools ships the *.txt here)."""
