"""Placeholder: filled in by the foundation work (safe checkpoint loading)."""
