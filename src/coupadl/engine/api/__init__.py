"""The REST API engine: Coupa's Core REST API with an OAuth 2.0 client, no browser."""
