"""Engines and the one PO they serve: the interface (interface.py), the page walk
(flow.py), a PO from page to final folder (po.py), the engines by path (spec.py), and
the engines themselves (browser/)."""
