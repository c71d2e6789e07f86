"""The browser session: driver start-up, profiles, downloads."""
