"""Running many POs: the pooled executor (``pool/``), the retry / 429 / sign-in policy,
the shared "not before" gate after HTTP 429, and stop signals. Knows no engine: an
engine's handler and prepare step come in by their ``"module:callable"`` paths."""
