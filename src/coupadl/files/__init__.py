"""Where files go and what they must be: safe names, the supplier/PO folders, atomic
writes, disk space, verification, and .msg to PDF."""
