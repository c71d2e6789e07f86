"""Coupa's Core REST API as coupadl knows it: its paths and what its JSON records say
(``../shared/coupa-facts.md``, "Coupa Core REST API"). Plain functions over plain data:
no HTTP client, no engine."""
