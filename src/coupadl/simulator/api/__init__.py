"""Coupa's Core REST API on the simulated tenant, from the same data set as the pages.

:mod:`.tokens` (OAuth 2.0 client credentials, tokens in memory), :mod:`.guard` (the
bearer check, scopes and JSON errors), :mod:`.catalog` (the data set by API id),
:mod:`.records` (the JSON of each resource), :mod:`.query` (filters, ``fields=``,
paging), :mod:`.routes` (the handlers) and :mod:`.control` (``/__sim__/api/*``).
What it answers is described in docs/simulator.md ("The REST API").
"""
