"""Diffusion samplers: plain functions over a denoiser, one per file (k-diffusion style)."""
