"""The simulated tenant's request handlers, one module per area of the site.

:mod:`.documents` (PO and requisition pages), :mod:`.files` (attachment downloads),
:mod:`.assets`, :mod:`.sessions` (native sign-in), :mod:`.control` (``/__sim__/*``);
:mod:`.gate` guards them with the sign-in check, :mod:`.faults` injects 429/500s and
think time, :mod:`.common` holds what every handler needs. ``app.py`` maps the URLs.
"""
