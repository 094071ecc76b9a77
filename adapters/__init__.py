"""Adapters: the ports implemented with real technology, plus in-memory doubles."""
