"""Fake pool handlers for tests: real processes, no browser.

Imported as ``fakes.handlers`` (pytest puts ``tests/`` on ``sys.path``); the pool's
spawned worker processes inherit that path and import the fakes by the same name.
"""
