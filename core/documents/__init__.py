"""Documents generated from the record: minutes, 公示 notices and whatever plugins add.

A document is a :class:`core.documents.spec.DocumentSpec` declared through the ``yishi_documents``
hook (core's own come through the same hook, from core.builtin). One template renders it to HTML;
the same HTML is printed to PDF (WeasyPrint) and converted to Word (.docx), so every format carries
the same content.
"""
