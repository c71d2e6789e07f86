"""The http engine: Coupa pages and files over plain HTTP with the signed-in session."""
