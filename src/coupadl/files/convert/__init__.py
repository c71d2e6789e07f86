"""Conversions of downloaded files: Outlook ``.msg`` e-mails to PDF.

``msg_pdf`` is the entry point (one file, one folder, the PO pipeline's hook);
``message`` reads a .msg, ``bodytext`` turns HTML/RTF bodies into text, ``pdf``
writes the PDF, ``names`` is the naming rule shared with the simulator check.
"""
