"""What every engine shares: the per-PO flow over Coupa's pages (flow.py)."""
