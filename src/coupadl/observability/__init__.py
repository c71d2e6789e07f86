"""What a run leaves for machines to read: the structured (JSON lines) event log."""
