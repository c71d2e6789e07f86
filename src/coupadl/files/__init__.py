"""Where files go: safe names, the supplier/PO folder layout, and the run report."""
