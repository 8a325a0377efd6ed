"""Talking identities: the one resolver from what a user passes to what the model conditions on, and
the store of enrolled identities (``store.py``; export and import in ``sharing.py``)."""
from dtsdk.identities.resolver import (AUTO, GENERIC, ResolvedIdentity, check_identity, describe_identity,
                                       enrolled_identity, identity_embeddings, is_auto, match_identity,
                                       resolve_identity)

__all__ = ["AUTO", "GENERIC", "ResolvedIdentity", "check_identity", "describe_identity", "enrolled_identity",
           "identity_embeddings", "is_auto", "match_identity", "resolve_identity"]
