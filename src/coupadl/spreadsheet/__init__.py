"""Input and output spreadsheets (CSV and Excel)."""
