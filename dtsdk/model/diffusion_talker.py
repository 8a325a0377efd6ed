"""DiffusionTalker: audio encoder + personalizer + denoiser + noise schedule, in one module.

Training: ``training_loss(batch)``; sampling: ``sample(audio, num_frames, identity=...)`` through
the registered samplers; checkpoints: ``save_pretrained`` / ``from_pretrained`` (see :mod:`dtsdk.model.hub`).
What the model is trained to do, and how its motion is drawn, is its *objective*
(``config.objective``, one module each in :mod:`dtsdk.model.objectives`); this file only wires
the shared parts together. Motion lives in a normalised space, ``(motion - motion_mean) / motion_std``;
the training session sets the statistics with :meth:`set_motion_stats` (saved with the weights).
Identities go through the one resolver, :mod:`dtsdk.identities`.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from dtsdk.diffusion import build_schedule
from dtsdk.encoders import build_encoder
from dtsdk.errors import DtsdkError
from dtsdk.identities import ResolvedIdentity, identity_embeddings, resolve_identity
from dtsdk.model.config import DiffusionTalkerConfig
from dtsdk.model.denoiser import Denoiser
from dtsdk.model.objectives import OBJECTIVES
from dtsdk.model.personalizer import Personalizer
from dtsdk.samplers import get_sampler


class DiffusionTalker(nn.Module):
    def __init__(self, config: DiffusionTalkerConfig | None = None):
        super().__init__()
        self.config = config = config or DiffusionTalkerConfig()
        if config.num_identities < 1:
            raise DtsdkError("DiffusionTalkerConfig.identities is empty: list the training speakers' names")
        self.encoder = build_encoder(config.encoder, **config.encoder_config)
        if int(self.encoder.sample_rate) != config.sample_rate:
            raise DtsdkError(f"encoder '{config.encoder}' expects {self.encoder.sample_rate} Hz audio, "
                             f"the config says {config.sample_rate} Hz")
        audio_dim = int(self.encoder.feature_dim)
        self.personalizer = Personalizer(audio_dim, config.num_identities, config.personalizer)

        def backbone() -> Denoiser:
            return Denoiser(config.motion_dim, audio_dim, config.personalizer.identity_dim, config.denoiser)

        self.denoiser = backbone()
        objective_cls = OBJECTIVES[config.objective]
        for name, module in objective_cls.extra_modules(backbone).items():  # e.g. the residual's mean_net
            self.add_module(name, module)
        self.objective = objective_cls(self)
        self.schedule = build_schedule(config.schedule, config.diffusion_steps)
        self.register_buffer("motion_mean", torch.zeros(config.motion_dim))
        self.register_buffer("motion_std", torch.ones(config.motion_dim))

    def set_motion_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Per-channel statistics (D,) of the training motion; std is floored so still channels stay finite."""
        self.motion_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.motion_std.copy_(torch.as_tensor(std, dtype=torch.float32).clamp(min=1e-3))

    @property
    def is_generic(self) -> bool:
        """Trained with every clip on the null identity: its identity bank was never used."""
        return self.config.identity_dropout >= 1.0

    def denoise(self, x_t: torch.Tensor, t: torch.Tensor, cond: dict) -> torch.Tensor:
        """The sampler contract ``model(x_t (B, T, D), t (B,), cond) -> x0_hat (B, T, D)`` (normalised
        space), as the objective defines it; ``cond`` holds audio (B, T, D_audio), identity (B, E),
        mask (B, T) and the objective's ``cond_keys`` (for the residual objective x_t and x0_hat are
        residuals from ``cond["mean"]``)."""
        return self.objective.denoise(x_t, t, cond)

    # ---- training ------------------------------------------------------------------------------
    def training_loss(self, batch: dict, generator: torch.Generator | None = None) -> dict:
        """batch: audio (B, S) (or features (B, T, D_audio) of a frozen encoder), motion (B, T, D), mask
        (B, T) bool, speaker (B,) long, optional voice_is_identity (B,) bool (default all True) -> dict of scalars.

        ``loss`` = the objective's loss + ``infonce_weight * infonce`` (the audio-to-identity head's
        contrastive loss); identity dropout replaces a clip's identity by the null identity.
        """
        motion, mask, speaker = batch["motion"], batch["mask"].bool(), batch["speaker"].long()
        B, T, _ = motion.shape
        x0 = (motion - self.motion_mean) / self.motion_std  # (B, T, D)
        # precomputed features of a frozen encoder (dtsdk.data.features), or the audio encoded now
        audio = batch["features"] if "features" in batch else self.encoder(batch["audio"], T)  # (B, T, D_audio)

        # Only clips whose voice is the identity's teach the audio-to-identity head (what "auto" uses):
        # a style-swapped clip (batch["voice_is_identity"] False) would teach it that voice -> identity.
        query = self.personalizer.query(audio, mask)  # (B, E)
        keep = batch.get("voice_is_identity")
        keep = torch.ones(B, dtype=torch.bool, device=query.device) if keep is None else keep.to(query.device).bool()
        if keep.all():
            infonce = self.personalizer.infonce(query, speaker)
        elif keep.any():
            infonce = self.personalizer.infonce(query[keep], speaker[keep])
        else:  # nothing to learn from: 0, kept in the graph so every rank's parameters get a gradient
            infonce = query.sum() * 0.0
        identity = self.personalizer.embed(speaker, B)  # (B, E)
        identity, _ = self.personalizer.drop_identity(identity, self.config.identity_dropout if self.training else 0.0,
                                                      generator)
        parts = self.objective.training_loss(x0, {"audio": audio, "identity": identity, "mask": mask}, generator)
        return {**parts, "loss": parts["loss"] + self.config.infonce_weight * infonce, "infonce": infonce}

    # ---- inference -----------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, audio: torch.Tensor, num_frames: int, identity=None, sampler: str | None = None,
               steps: int | None = None, generator: torch.Generator | None = None,
               mask: torch.Tensor | None = None, return_info: bool = False, identity_guidance: float = 1.0,
               **sampler_kwargs):
        """audio (B, S) at ``config.sample_rate`` -> motion (B, num_frames, motion_dim) in rig units.

        ``identity``: anything :func:`dtsdk.identities.resolve_identity` takes: a name, an index, a
        (B,) tensor of indices, ``"auto"`` (matched against the identity library on this audio),
        ``None`` (the null identity: generic motion) or a ``ResolvedIdentity``.
        ``identity_guidance`` w: classifier-free guidance toward the identity, ``x0_null + w (x0_id -
        x0_null)`` (1 = plain conditioning, 0 = generic; costs a second denoiser pass). With
        ``return_info=True`` returns ``(motion, info)``, info holding ``identities`` (one
        ResolvedIdentity per clip), ``identity_index`` (B,) (-1 = null) and ``identity_names``.
        """
        x0, resolved = self.sample_normalised(audio, num_frames, identity, sampler, steps, generator, mask,
                                              identity_guidance, **sampler_kwargs)  # (B, T, D)
        motion = x0 * self.motion_std + self.motion_mean  # (B, T, D)
        if not return_info:
            return motion
        return motion, _identity_info(resolved)

    @torch.no_grad()
    def sample_normalised(self, audio: torch.Tensor, num_frames: int, identity=None, sampler: str | None = None,
                          steps: int | None = None, generator: torch.Generator | None = None,
                          mask: torch.Tensor | None = None, identity_guidance: float = 1.0,
                          wrap: Callable | None = None, **sampler_kwargs) -> tuple[torch.Tensor, list]:
        """:meth:`sample` in the normalised motion space -> (x0 (B, T, D), one ResolvedIdentity per clip).

        ``wrap``: ``sample_fn -> sample_fn`` applied to the registered sampler (streaming holds emitted
        frames with it, batching shares denoiser passes; see :mod:`dtsdk.inference.sampling`).
        """
        device = self.motion_mean.device
        features = self.encoder(audio.to(device), num_frames)  # (B, T, D_audio), once per window
        resolved = resolve_identity(self, identity, audio.shape[0], features, mask)
        if all(r.is_generic for r in resolved):
            identity_guidance = 1.0  # nothing to guide toward: the generic path as it is
        cond = self.sampling_cond(features, identity_embeddings(self, resolved, device), mask)
        x0 = self.generate_normalised(cond, sampler, steps, generator, identity_guidance, wrap, **sampler_kwargs)
        return x0, resolved

    def sampling_cond(self, features: torch.Tensor, identity: torch.Tensor, mask: torch.Tensor | None = None) -> dict:
        """The cond samplers and objectives see: audio features (B, T, D_audio), identity embeddings (B, E),
        mask (B, T) and the step counts this checkpoint was distilled for."""
        return {"audio": features, "identity": identity, "mask": mask,
                "distilled_steps": tuple(self.config.distilled_steps)}

    def generate_normalised(self, cond: dict, sampler: str | None = None, steps: int | None = None,
                            generator: torch.Generator | None = None, identity_guidance: float = 1.0,
                            wrap: Callable | None = None, **sampler_kwargs) -> torch.Tensor:
        """The objective's motion (B, T, D), normalised, for ``cond`` (:meth:`sampling_cond`), through the
        registered ``sampler`` (default: the config's, with its ``sampler_options`` under the caller's)."""
        sampler = sampler or self.config.default_sampler
        if sampler == self.config.default_sampler:
            sampler_kwargs = {**self.config.sampler_options, **sampler_kwargs}
        sample_fn = get_sampler(sampler) if self.objective.uses_sampler else None
        if wrap is not None and sample_fn is not None:
            sample_fn = wrap(sample_fn)
        return self.objective.generate(cond, sample_fn, steps or self.config.default_steps, generator,
                                       identity_guidance, **sampler_kwargs)  # (B, T, D)

    # ---- checkpoints ---------------------------------------------------------------------------
    def save_pretrained(self, directory, model_card: str | None = None, dtype: torch.dtype | None = None) -> None:
        """Write ``config.json`` + ``model.safetensors`` + ``README.md`` (PyTorchModelHubMixin layout);
        ``dtype=torch.float16`` stores the weights at half size (they load back as float32)."""
        from dtsdk.model.hub import save_checkpoint

        save_checkpoint(self, directory, model_card, dtype)

    @classmethod
    def from_pretrained(cls, dir_or_repo_id, revision: str | None = None, local_files_only: bool | None = None,
                        cache_dir=None) -> "DiffusionTalker":
        """Load from a local directory or a Hub repo id; weights come from safetensors only (never pickle)."""
        from dtsdk.model.hub import load_checkpoint

        return load_checkpoint(cls, dir_or_repo_id, revision=revision, local_files_only=local_files_only,
                               cache_dir=cache_dir)


def _identity_info(resolved: list[ResolvedIdentity]) -> dict:
    return {"identities": resolved,
            "identity_index": torch.tensor([-1 if r.index is None else r.index for r in resolved], dtype=torch.long),
            "identity_names": [r.name for r in resolved]}
