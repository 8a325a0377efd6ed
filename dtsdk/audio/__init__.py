"""Audio input: one loader for paths, bytes and arrays."""
