"""Indexing beyond one machine (optional extras; nothing here is imported by a plain install)."""
