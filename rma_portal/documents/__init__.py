"""Documents: Django templates rendered to PDF with WeasyPrint (return labels, reports).

`rma_portal.documents.pdf` holds the renderer, its static-files-only URL fetcher and the
Code128 / QR code helpers that documents draw as inline SVG.
"""
