"""Statute citations (moved to ``tinmatch.statutes``, below the agreement, in the core layer)."""

from tinmatch.statutes import normalize_statute

__all__ = ["normalize_statute"]
