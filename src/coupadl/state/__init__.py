"""Durable run state: what each PO reached and which files it has, in SQLite."""
