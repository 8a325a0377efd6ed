"""The one identity path: what a user passes as ``identity`` -> what the model conditions on.

Accepted: a name from the model's identity library (``"t03"``), an index into it (an int, or its
digits as a string when no identity has that name, as the CLI passes it), a mix of them
(``{"t05": 0.7, "t12": 0.3}`` or ``"t05:0.7,t12:0.3"``: the weighted mean of their embeddings), ``"auto"`` (the
library identity the voice matches best, with its probability as the confidence), ``None`` (the
null identity: generic motion), an enrolled identity from the identity store (its name, or the path
of an identity folder; :mod:`dtsdk.identities.store`), which carries its own embedding and must
belong to the model, or an already :class:`ResolvedIdentity`. Mixes may blend enrolled and library
identities, and ``"auto"`` also matches the store's identities that belong to the model.

:func:`check_identity` fails early (before any audio is read) on a request the model cannot meet;
:func:`resolve_identity` turns one request into one :class:`ResolvedIdentity` per clip of a batch;
:func:`identity_embeddings` gives the (B, E) embeddings the denoiser sees. ``Talker``, ``dtsdk eval``
and ``dtsdk animate`` all go through these, and ``"auto"`` is matched only in :func:`match_identity`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import os

import torch
import torch.nn.functional as F

from dtsdk.errors import DtsdkError

AUTO = "auto"
# How much closer (in cosine) a voice must be to an enrolled identity's nearest voice key than to the
# nearest library identity for ``auto`` to pick it. With one key per enrolled window, a voice finds
# some window of a speaker it does not belong to close by; the margin keeps library voices their own.
# Chosen on clips apart from the judged ones (benchmarks/bench_voice_keys.py, docs/enrollment.md).
ENROLLED_MARGIN = 0.12


@dataclass(frozen=True)
class ResolvedIdentity:
    """What an identity request chose for one clip.

    ``name``: the identity's name, None for the null identity. ``index``: its row in the model's
    identity bank (None for the null identity and for identities from outside the bank).
    ``source``: ``"library"``, ``"auto"``, ``"mix"``, ``"generic"`` (and ``"store"`` for enrolled identities).
    ``confidence``: for ``"auto"``, the match probability of the chosen identity (0..1).
    ``embedding``: (E,) for an identity that is not a bank row (an enrolled one), else None.
    """

    name: str | None
    index: int | None = None
    source: str = "generic"
    confidence: float | None = None
    embedding: torch.Tensor | None = field(default=None, compare=False, repr=False)

    @property
    def is_generic(self) -> bool:
        return self.index is None and self.embedding is None

    def describe(self) -> str:
        return describe_identity(self.name, self.source, self.confidence)


def describe_identity(name: str | None, source: str, confidence: float | None = None) -> str:
    """One line for logs: ``t03 (auto, confidence 0.48)``, ``t03 (library)`` or ``generic (null identity)``."""
    if name is None:
        return "generic (null identity)"
    if confidence is None:
        return f"{name} ({source})"
    return f"{name} ({source}, confidence {confidence:.2f})"


GENERIC = ResolvedIdentity(None)


def check_identity(model, identity):
    """Raise a one-line DtsdkError if ``model`` cannot animate with ``identity``; return it unchanged."""
    if is_auto(identity):
        _refuse_on_generic(model, identity)
    else:
        _resolve_one(model, identity)  # the same checks resolving makes, before any audio is read
    return identity


def resolve_identity(model, identity, batch_size: int = 1, features: torch.Tensor | None = None,
                     mask: torch.Tensor | None = None, enrolled: bool = True) -> list[ResolvedIdentity]:
    """One request -> one ResolvedIdentity per clip of a batch of ``batch_size``.

    ``identity`` may also be a (B,) tensor or list of per-clip requests (-1 = the null identity). ``"auto"`` needs the
    clips' audio ``features`` (B, T, D_audio) (and their ``mask`` (B, T) if padded); ``enrolled=False`` matches
    it against the model's library only, leaving the store out.
    """
    if _is_per_clip(identity):
        requests = identity.tolist() if isinstance(identity, torch.Tensor) else list(identity)
        if len(requests) != batch_size:
            raise DtsdkError(f"got {len(requests)} identities for a batch of {batch_size} clips")
        return [_resolve_one(model, r) for r in requests]
    if is_auto(identity):
        _refuse_on_generic(model, identity)
        if features is None:
            raise DtsdkError("identity='auto' needs the clip's audio to match against the identity library")
        return match_identity(model, features, mask, enrolled)
    return [_resolve_one(model, identity)] * batch_size


def match_identity(model, features: torch.Tensor, mask: torch.Tensor | None = None,
                   enrolled: bool = True) -> list[ResolvedIdentity]:
    """``"auto"``: the identity each clip's audio features (B, T, D_audio) match best, among the library
    and (with ``enrolled``) the store's enrolled identities that belong to the model (compared as the
    library is: cosine similarity of the audio-to-identity query over the temperature; an enrolled identity is
    compared by the best of its voice keys less ENROLLED_MARGIN, and animates with its embedding)."""
    enrolled = _enrolled_for(model) if enrolled else []
    names = model.config.identities
    if not enrolled:
        index, probs = model.personalizer.match(features, mask)  # (B,), (B, N)
        return [ResolvedIdentity(names[i], i, "auto", float(probs[row, i])) for row, i in enumerate(index.tolist())]
    with torch.no_grad():
        query = model.personalizer.query(features, mask)  # (B, E)
        q = F.normalize(query, dim=-1)
        best = torch.stack([(q @ F.normalize(e.match_keys.to(q), dim=-1).T).max(dim=-1).values
                            for e in enrolled], dim=-1)  # (B, M): each enrolled identity's closest key
        extra_logits = (best - ENROLLED_MARGIN) / model.personalizer.config.temperature
        probs = torch.cat([model.personalizer.logits(query), extra_logits], dim=-1).softmax(dim=-1)  # (B, N + M)
    chosen = []
    for row, i in enumerate(probs.argmax(dim=-1).tolist()):
        if i < len(names):
            chosen.append(ResolvedIdentity(names[i], i, "auto", float(probs[row, i])))
        else:
            e = enrolled[i - len(names)]
            chosen.append(ResolvedIdentity(e.name, None, "auto", float(probs[row, i]), embedding=e.embedding))
    return chosen


def identity_embeddings(model, resolved: list[ResolvedIdentity], device=None) -> torch.Tensor:
    """Per-clip ResolvedIdentity -> the identity embeddings the denoiser sees (B, E)."""
    B = len(resolved)
    if all(r.is_generic for r in resolved):
        return model.personalizer.embed(None, B)
    index = torch.tensor([-1 if r.index is None else r.index for r in resolved], dtype=torch.long, device=device)
    rows = model.personalizer.embed(index, B)  # (B, E); -1 rows get the null identity
    for row, r in enumerate(resolved):
        if r.embedding is not None:  # an identity from outside the bank brings its own embedding
            rows = rows.index_copy(0, torch.tensor([row], device=rows.device), r.embedding.to(rows)[None])
    return rows


def _resolve_one(model, identity) -> ResolvedIdentity:
    """A name, an index (-1: the null identity, as in per-clip index tensors), None or a ResolvedIdentity."""
    if isinstance(identity, ResolvedIdentity):
        return identity
    if identity is None or identity == -1:
        return GENERIC
    _refuse_on_generic(model, identity)
    weights = _mix_weights(model, identity)
    if weights is not None:
        return mix_identity(model, weights)
    if _names_enrolled(model, identity):
        return enrolled_identity(model, identity)
    index = _library_identity(model, identity)
    return ResolvedIdentity(model.config.identities[index], index, "library")


def enrolled_identity(model, name_or_path) -> ResolvedIdentity:
    """A store name or an identity folder -> ResolvedIdentity with its own embedding; one-line error
    when it belongs to another model."""
    from dtsdk.identities.store import check_belongs_to, load_identity

    stored = load_identity(name_or_path)
    check_belongs_to(stored, model)
    return ResolvedIdentity(stored.name, None, "store", embedding=stored.embedding)


def mix_identity(model, weights: dict) -> ResolvedIdentity:
    """A blend of identities: the weighted mean of their embeddings (weights normalised to sum 1).

    ``weights`` maps a bank index (int) or an enrolled ResolvedIdentity to its weight. Embeddings,
    not outputs, are blended: the denoiser sees one identity between the two, so the style moves
    between theirs in one sample (``tests/test_identities.py`` measures it)."""
    total = sum(weights.values())
    bank = model.personalizer.bank.detach()
    rows = torch.stack([bank[key] if isinstance(key, int) else key.embedding.to(bank) for key in weights])  # (K, E)
    mix = torch.tensor([w / total for w in weights.values()], dtype=rows.dtype, device=rows.device)  # (K,)
    names = model.config.identities
    label = ",".join(f"{names[k] if isinstance(k, int) else k.name}:{w / total:.3g}" for k, w in weights.items())
    return ResolvedIdentity(label, source="mix", embedding=mix @ rows)


def _mix_weights(model, identity) -> dict | None:
    """``{"t05": 0.7, "me": 0.3}`` or ``"t05:0.7,me:0.3"`` -> {bank index or enrolled ResolvedIdentity: weight};
    None if not a mix."""
    if isinstance(identity, str) and ":" in identity and identity not in model.config.identities:
        parts = [part.partition(":") for part in identity.split(",")]
        if any(not sep or not name.strip() for name, sep, _ in parts):
            raise DtsdkError(f"identity mix '{identity}': write NAME:WEIGHT pairs joined by commas, "
                             "e.g. t05:0.7,t12:0.3")
        identity = {name.strip(): value.strip() for name, _, value in parts}
    if not isinstance(identity, Mapping):
        return None
    if not identity:
        raise DtsdkError("identity mix is empty; give at least one NAME: WEIGHT")
    weights: dict = {}
    for name, value in identity.items():
        try:
            weight = float(value)
        except (TypeError, ValueError):
            raise DtsdkError(f"identity mix: the weight of '{name}' is {value!r}, not a number") from None
        if not weight >= 0:  # also refuses NaN
            raise DtsdkError(f"identity mix: the weight of '{name}' is {weight}; weights must be >= 0")
        key = enrolled_identity(model, name) if _names_enrolled(model, name) else _library_identity(model, name)
        weights[key] = weights.get(key, 0.0) + weight
    if sum(weights.values()) <= 0:
        raise DtsdkError("identity mix: the weights sum to 0; give at least one positive weight")
    return weights


def _library_identity(model, identity) -> int:
    """A library name or index -> its row in the identity bank; one-line errors list what exists."""
    names = model.config.identities
    if isinstance(identity, str) and identity not in names and identity.isdigit():
        identity = int(identity)  # an index typed on the command line
    if isinstance(identity, str):
        if identity not in names:
            enrolled = ", ".join(e.name for e in _enrolled_for(model))
            raise DtsdkError(f"unknown identity '{identity}'; this model knows: {', '.join(names)} "
                             f"(or 'auto', or None){'; enrolled for it: ' + enrolled if enrolled else ''}")
        return names.index(identity)
    if isinstance(identity, bool) or not isinstance(identity, int):
        raise DtsdkError(f"identity must be a name, an index, 'auto' or None, not {identity!r}")
    if not 0 <= identity < len(names):
        raise DtsdkError(f"identity index {identity} is out of range; this model has {len(names)} identities "
                         f"(0..{len(names) - 1})")
    return identity


def _refuse_on_generic(model, identity) -> None:
    if model.is_generic:
        raise DtsdkError(f"this model was trained without identities (identity_dropout "
                         f"{model.config.identity_dropout}); animate it with identity=None, not {identity!r}")


def _names_enrolled(model, identity) -> bool:
    """Whether ``identity`` asks for the identity store: a PathLike, a path with a separator, or a name
    that is not the library's but is a store folder."""
    if isinstance(identity, os.PathLike):
        return True
    if not isinstance(identity, str) or identity in model.config.identities or identity.isdigit():
        return False
    from dtsdk.identities.store import store_root

    return os.sep in identity or "/" in identity or (store_root() / identity).is_dir()


def _enrolled_for(model) -> list:
    from dtsdk.identities.store import identities_for

    return identities_for(model)


def is_auto(identity) -> bool:
    return isinstance(identity, str) and identity == AUTO


def _is_per_clip(identity) -> bool:
    return isinstance(identity, (torch.Tensor, list, tuple))
