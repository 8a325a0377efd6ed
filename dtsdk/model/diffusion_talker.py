"""DiffusionTalker: audio encoder + personalizer + denoiser + noise schedule, in one module.

Training: ``training_loss(batch)``; sampling: ``sample(audio, num_frames, identity=...)`` through
the registered samplers; checkpoints: ``save_pretrained`` / ``from_pretrained`` (see :mod:`dtsdk.model.hub`).
Motion is diffused in a normalised space, ``(motion - motion_mean) / motion_std``; the training
session sets the statistics with :meth:`set_motion_stats` (they are saved with the weights).
With ``objective="residual"`` a mean network predicts the motion first and the diffusion state is
the residual ``x0 - mean``; samplers never see the difference (``cond["mean"]`` carries the mean).
"""
from __future__ import annotations

import torch
from torch import nn

from dtsdk.diffusion.schedule import NoiseSchedule
from dtsdk.encoders import build_encoder
from dtsdk.errors import DtsdkError
from dtsdk.model.config import DiffusionTalkerConfig
from dtsdk.model.denoiser import Denoiser
from dtsdk.model.personalizer import Personalizer


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of values (B, T, D) over the frames where mask (B, T) is True."""
    weights = mask[..., None].to(values.dtype)  # (B, T, 1)
    return (values * weights).sum() / (weights.sum() * values.shape[-1]).clamp(min=1)


def recon_and_velocity(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked MSE of pred vs target (B, T, D), and of their frame-to-frame velocities."""
    recon = masked_mean((pred - target) ** 2, mask)
    both_valid = mask[:, 1:] & mask[:, :-1]  # a velocity needs two real frames
    velocity = masked_mean(((pred[:, 1:] - pred[:, :-1]) - (target[:, 1:] - target[:, :-1])) ** 2, both_valid)
    return recon, velocity


OBJECTIVES = ("diffusion", "residual", "regression")
PARAMETERIZATIONS = ("x0", "v")


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
        self.denoiser = Denoiser(config.motion_dim, audio_dim, config.personalizer.identity_dim, config.denoiser)
        # The residual objective's mean network: the regression baseline's architecture, its own weights.
        self.mean_net = (Denoiser(config.motion_dim, audio_dim, config.personalizer.identity_dim, config.denoiser)
                         if config.objective == "residual" else None)
        if config.schedule == "cosine":
            self.schedule = NoiseSchedule.cosine(config.diffusion_steps)
        elif config.schedule == "linear":
            self.schedule = NoiseSchedule.linear(config.diffusion_steps)
        else:
            raise DtsdkError(f"unknown noise schedule '{config.schedule}'; choose cosine or linear")
        if config.objective not in OBJECTIVES:
            raise DtsdkError(f"unknown objective '{config.objective}'; choose {' or '.join(OBJECTIVES)}")
        if config.parameterization not in PARAMETERIZATIONS:
            raise DtsdkError(f"unknown parameterization '{config.parameterization}'; choose "
                             f"{' or '.join(PARAMETERIZATIONS)}")
        self.register_buffer("motion_mean", torch.zeros(config.motion_dim))
        self.register_buffer("motion_std", torch.ones(config.motion_dim))

    # ---- pieces --------------------------------------------------------------------------------
    def set_motion_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Per-channel statistics (D,) of the training motion; std is floored so still channels stay finite."""
        self.motion_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.motion_std.copy_(torch.as_tensor(std, dtype=torch.float32).clamp(min=1e-3))

    def identity_index(self, identity, batch_size: int, device) -> torch.Tensor | None:
        """A name, an int, a (B,) tensor, or None (generic) -> (B,) long index or None."""
        if identity is None:
            return None
        if self.is_generic:
            raise DtsdkError(f"this model was trained without identities (identity_dropout "
                             f"{self.config.identity_dropout}); animate it with identity=None, not {identity!r}")
        if isinstance(identity, str):
            if identity not in self.config.identities:
                known = ", ".join(self.config.identities)
                raise DtsdkError(f"unknown identity '{identity}'; this model knows: {known} (or 'auto', or None)")
            identity = self.config.identities.index(identity)
        if isinstance(identity, int):
            return torch.full((batch_size,), identity, dtype=torch.long, device=device)
        return torch.as_tensor(identity, dtype=torch.long, device=device)

    def denoise(self, x_t: torch.Tensor, t: torch.Tensor, cond: dict) -> torch.Tensor:
        """The sampler contract: ``model(x_t (B, T, D), t (B,), cond) -> x0_hat (B, T, D)`` (normalised space;
        for the residual objective x_t and x0_hat are residuals from ``cond["mean"]``).

        ``cond``: ``audio`` (B, T, D_audio), ``identity`` (B, E), optional ``mask`` (B, T) bool.
        """
        return self.clean_estimate(self.denoiser(x_t, t, cond["audio"], cond["identity"], cond.get("mask")), x_t, t)

    def clean_estimate(self, output: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The denoiser's output (B, T, D) at noisy x_t and steps t (B,) -> x0_hat, by ``config.parameterization``."""
        if self.config.parameterization == "x0":
            return output
        abar = self.schedule.alphas_cumprod.to(output.device)[t].to(output.dtype).view(-1, 1, 1)  # (B, 1, 1)
        return abar.sqrt() * x_t - (1 - abar).sqrt() * output  # v-parameterisation

    @property
    def is_generic(self) -> bool:
        """Trained with every clip on the null identity: its identity bank was never used."""
        return self.config.identity_dropout >= 1.0

    @property
    def is_regression(self) -> bool:
        return self.config.objective == "regression"

    @property
    def is_residual(self) -> bool:
        return self.config.objective == "residual"

    def regress(self, audio: torch.Tensor, identity: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """The deterministic forward: the regression baseline's denoiser, or the residual objective's
        mean network, at step 0 on an all-zero motion input.

        audio (B, T, D_audio), identity (B, E) -> motion (B, T, D) in the normalised space.
        """
        B, T, _ = audio.shape
        zeros = audio.new_zeros(B, T, self.config.motion_dim)  # (B, T, D)
        step0 = torch.zeros(B, dtype=torch.long, device=audio.device)
        net = self.mean_net if self.mean_net is not None else self.denoiser
        return net(zeros, step0, audio, identity, mask)

    def guided_denoise(self, weight: float):
        """Classifier-free guidance (Ho & Salimans 2022, arXiv 2207.12598) with the null identity
        that identity dropout trains: the sampler contract, running both identities in one batch.

        Residual objective: the sampler's state is a residual from the identity's mean, so the null
        branch sees the same noisy motion re-expressed against the null mean, ``x_t + sqrt(abar_t)
        (mean - mean_null)``, and the guidance mixes whole motions (mean + residual). With weight 0
        this is exactly the generic model's sampling path.
        """
        def denoise(x_t: torch.Tensor, t: torch.Tensor, cond: dict) -> torch.Tensor:
            B = x_t.shape[0]
            mask = cond.get("mask")
            both = {"audio": torch.cat([cond["audio"], cond["audio"]]),
                    "identity": torch.cat([cond["identity"], self.personalizer.embed(None, B)]),
                    "mask": None if mask is None else torch.cat([mask, mask])}
            if "mean" not in cond:
                x0_id, x0_null = self.denoise(torch.cat([x_t, x_t]), torch.cat([t, t]), both).chunk(2)  # (B, T, D)
                return x0_null + weight * (x0_id - x0_null)
            mean, mean_null = cond["mean"], cond["mean_null"]  # (B, T, D) each
            abar = self.schedule.alphas_cumprod.to(x_t.device)[t].to(x_t.dtype).view(-1, 1, 1)  # (B, 1, 1)
            x_null = x_t + abar.sqrt() * (mean - mean_null)  # the same noisy motion, against the null mean
            r_id, r_null = self.denoise(torch.cat([x_t, x_null]), torch.cat([t, t]), both).chunk(2)  # (B, T, D)
            whole_id, whole_null = mean + r_id, mean_null + r_null
            return whole_null + weight * (whole_id - whole_null) - mean
        return denoise

    # ---- training ------------------------------------------------------------------------------
    def training_loss(self, batch: dict, generator: torch.Generator | None = None) -> dict:
        """batch: audio (B, S), motion (B, T, D), mask (B, T) bool, speaker (B,) long -> dict of scalars.

        ``loss = recon + velocity_weight * velocity + infonce_weight * infonce``; recon and velocity are
        masked MSEs on x0_hat (normalised space); t is uniform over the training steps. The residual
        objective adds ``mean_recon + velocity_weight * mean_velocity`` for the mean network, and its
        diffusion target is ``x0 - mean`` with the mean detached (the two parts train side by side,
        neither pulls the other).
        """
        motion, mask, speaker = batch["motion"], batch["mask"].bool(), batch["speaker"].long()
        B, T, _ = motion.shape
        x0 = (motion - self.motion_mean) / self.motion_std  # (B, T, D)
        audio = self.encoder(batch["audio"], T)  # (B, T, D_audio)

        query = self.personalizer.query(audio, mask)  # (B, E)
        infonce = self.personalizer.infonce(query, speaker)
        identity = self.personalizer.embed(speaker, B)  # (B, E)
        identity, _ = self.personalizer.drop_identity(identity, self.config.identity_dropout if self.training else 0.0,
                                                      generator)

        parts: dict = {}
        target = x0
        if self.is_regression or self.is_residual:
            mean = self.regress(audio, identity, mask)  # (B, T, D)
            if self.is_residual:
                parts["mean_recon"], parts["mean_velocity"] = recon_and_velocity(mean, x0, mask)
                target = x0 - mean.detach()  # (B, T, D) what the diffusion has left to model
        if self.is_regression:
            x0_hat = mean
        else:
            t = torch.randint(0, self.schedule.num_steps, (B,), generator=generator, device=motion.device)
            noise = torch.randn(x0.shape, generator=generator, device=motion.device, dtype=x0.dtype)
            x_t = self.schedule.q_sample(target, t, noise)  # (B, T, D)
            x0_hat = self.denoise(x_t, t, {"audio": audio, "identity": identity, "mask": mask})  # (B, T, D)

        recon, velocity = recon_and_velocity(x0_hat, target, mask)
        loss = recon + self.config.velocity_weight * velocity + self.config.infonce_weight * infonce
        if parts:
            loss = loss + parts["mean_recon"] + self.config.velocity_weight * parts["mean_velocity"]
        return {"loss": loss, "recon": recon, "velocity": velocity, "infonce": infonce, **parts}

    # ---- inference -----------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, audio: torch.Tensor, num_frames: int, identity=None, sampler: str | None = None,
               steps: int | None = None, generator: torch.Generator | None = None,
               mask: torch.Tensor | None = None, return_info: bool = False, identity_guidance: float = 1.0,
               **sampler_kwargs):
        """audio (B, S) at ``config.sample_rate`` -> motion (B, num_frames, motion_dim) in rig units.

        ``identity``: a speaker name, an index, a (B,) tensor of indices, ``"auto"`` (match the audio
        against the identity bank) or ``None`` (the null identity: generic motion).
        ``identity_guidance`` w: classifier-free guidance toward the identity, ``x0_null + w (x0_id -
        x0_null)`` (1 = plain conditioning, 0 = generic; costs a second denoiser pass). With
        ``return_info=True`` returns ``(motion, info)``, info holding ``identity_index`` (B,) (-1 =
        null), ``identity_names`` and, for ``"auto"``, ``identity_probabilities`` (B, N).
        """
        from dtsdk.samplers import get_sampler

        B = audio.shape[0]
        device = self.motion_mean.device
        features = self.encoder(audio.to(device), num_frames)  # (B, T, D_audio)
        info: dict = {}
        if isinstance(identity, str) and identity == "auto":
            if self.is_generic:
                self.identity_index(identity, B, device)  # raises: a generic model has nothing to match
            index, probs = self.personalizer.match(features, mask)
            info["identity_probabilities"] = probs
        else:
            index = self.identity_index(identity, B, device)
        cond = {"audio": features, "identity": self.personalizer.embed(index, B), "mask": mask}
        guided = identity_guidance != 1.0 and index is not None
        if guided and self.is_regression:
            raise DtsdkError("identity guidance needs a diffusion model; this one is a regression baseline")
        if self.is_regression:  # deterministic: no noise, no sampler
            x0 = self.regress(features, cond["identity"], mask)  # (B, T, D)
        else:
            if self.is_residual:
                cond["mean"] = self.regress(features, cond["identity"], mask)  # (B, T, D)
                if guided:
                    cond["mean_null"] = self.regress(features, self.personalizer.embed(None, B), mask)
            x = torch.randn(B, num_frames, self.config.motion_dim, generator=generator, device=device)
            sample_fn = get_sampler(sampler or self.config.default_sampler)
            denoise = self.guided_denoise(identity_guidance) if guided else self.denoise
            x0 = sample_fn(denoise, x, self.schedule, cond, steps=steps or self.config.default_steps,
                           generator=generator, **sampler_kwargs)  # (B, T, D)
            if self.is_residual:
                x0 = cond["mean"] + x0  # (B, T, D)
        motion = x0 * self.motion_std + self.motion_mean  # (B, T, D)
        if not return_info:
            return motion
        index = torch.full((B,), -1, dtype=torch.long) if index is None else index.cpu()
        info["identity_index"] = index
        info["identity_names"] = [self.config.identities[i] if i >= 0 else None for i in index.tolist()]
        return motion, info

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
