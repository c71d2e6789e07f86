"""The browser engine: driver start-up, profiles, the session, downloads, the handler,
sign-in, and the once-per-run prepare step."""
