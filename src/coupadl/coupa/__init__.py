"""Coupa knowledge: URLs, PO numbers, page parsing, status decisions. No processes, no browser."""
