"""The personalizer: a bank of learnable talking identities, learned contrastively from audio.

After DiffusionTalker (arXiv 2311.16565): each training speaker owns one embedding in an identity
bank; an audio-to-identity head pools a clip's audio features into a query; queries and bank
entries are compared by cosine similarity / temperature. At inference ``identity="auto"`` picks the
bank entry the audio matches best. A separate learned *null identity* stands for "no identity" so
the denoiser also learns generic generation (identity dropout, as in classifier-free guidance).

InfoNCE, exactly (``tau`` = ``PersonalizerConfig.temperature``, ``q_i`` clip i's query,
``e_k`` bank row k, ``s_i`` clip i's speaker, similarities are cosines):
  * audio -> bank: ``-log softmax_k(q_i . e_k / tau)[s_i]`` over all N bank rows; the positive is
    the clip's own speaker, the negatives are the N - 1 other speakers in the bank.
  * bank -> batch: ``-log softmax_j(e_{s_i} . q_j / tau)[i]`` over the clips j of the batch; the
    positive is clip i, the negatives are the clips of *other* speakers in the batch; other clips of
    the same speaker are left out of the softmax (they are neither positives nor negatives).
  * the loss is the mean of the two directions (CLIP-style symmetric). With one clip per speaker and
    B = N it is log(N) for an uninformative model.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dtsdk.model.config import PersonalizerConfig


class AttentionPool(nn.Module):
    """Masked attention pooling over time: a learned score per frame, softmax over valid frames."""

    def __init__(self, dim: int):
        super().__init__()
        self.score = nn.Sequential(nn.Linear(dim, dim), nn.Tanh(), nn.Linear(dim, 1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        scores = self.score(x).squeeze(-1)  # (B, T)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = scores.softmax(dim=-1)  # (B, T)
        return torch.einsum("bt,btd->bd", weights, x)  # (B, D)


class Personalizer(nn.Module):
    def __init__(self, audio_dim: int, num_identities: int, config: PersonalizerConfig | None = None):
        super().__init__()
        self.config = config = config or PersonalizerConfig()
        self.num_identities = num_identities
        self.bank = nn.Parameter(torch.randn(num_identities, config.identity_dim))  # (N, E)
        # Small, so the null identity starts near the centre instead of looking like a speaker.
        self.null_identity = nn.Parameter(0.02 * torch.randn(config.identity_dim))  # (E,)
        self.pool = AttentionPool(audio_dim)
        self.head = nn.Sequential(nn.Linear(audio_dim, config.hidden_dim), nn.GELU(),
                                  nn.Linear(config.hidden_dim, config.identity_dim))

    def query(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Audio features (B, T, D_audio) and mask (B, T) bool -> identity queries (B, E)."""
        return self.head(self.pool(features, mask))  # (B, E)

    def logits(self, query: torch.Tensor) -> torch.Tensor:
        """Cosine similarity / temperature of queries (B, E) against the bank -> (B, N)."""
        return F.normalize(query, dim=-1) @ F.normalize(self.bank, dim=-1).T / self.config.temperature

    def infonce(self, query: torch.Tensor, speaker: torch.Tensor) -> torch.Tensor:
        """Symmetric InfoNCE (see the module docstring) for queries (B, E) and speaker ids (B,) -> scalar."""
        audio_to_bank = F.cross_entropy(self.logits(query), speaker)
        # bank -> batch: row i compares the bank entry of s_i with every clip's query.
        q = F.normalize(query, dim=-1)  # (B, E)
        e = F.normalize(self.bank[speaker], dim=-1)  # (B, E)
        sims = e @ q.T / self.config.temperature  # (B, B): [i, j] = e_{s_i} . q_j
        same = speaker[:, None] == speaker[None, :]
        eye = torch.eye(len(speaker), dtype=torch.bool, device=speaker.device)
        sims = sims.masked_fill(same & ~eye, float("-inf"))  # other clips of the same speaker: left out
        targets = torch.arange(len(speaker), device=speaker.device)
        bank_to_batch = F.cross_entropy(sims, targets)
        return 0.5 * (audio_to_bank + bank_to_batch)

    @torch.no_grad()
    def match(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``identity="auto"``: the best bank entry for each clip -> (index (B,) long, probabilities (B, N))."""
        probs = self.logits(self.query(features, mask)).softmax(dim=-1)  # (B, N)
        return probs.argmax(dim=-1), probs

    def embed(self, index: torch.Tensor | None, batch_size: int) -> torch.Tensor:
        """Bank rows for ``index`` (B,) long, where -1 (or ``index=None``) means the null identity -> (B, E)."""
        null = self.null_identity.expand(batch_size, -1)
        if index is None:
            return null
        rows = self.bank[index.clamp(min=0)]  # (B, E)
        return torch.where((index < 0)[:, None], null, rows)

    def drop_identity(self, embedding: torch.Tensor, p: float, generator: torch.Generator | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """Replace each row of (B, E) by the null identity with probability ``p`` -> (embedding, dropped (B,) bool)."""
        if p <= 0:
            return embedding, torch.zeros(embedding.shape[0], dtype=torch.bool, device=embedding.device)
        dropped = torch.rand(embedding.shape[0], generator=generator, device=embedding.device) < p
        return torch.where(dropped[:, None], self.null_identity.expand_as(embedding), embedding), dropped
