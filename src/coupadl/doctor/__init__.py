"""``coupadl doctor``: environment checks, each with advice."""
