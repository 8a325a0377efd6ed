"""General helpers that every layer may use: atomic file writes, the glTF container, device and
autocast choice, strict config readers. They import nothing from dtsdk but :mod:`dtsdk.errors`,
so rigs, the renderer and the corpus can use them without loading the exporter package."""
