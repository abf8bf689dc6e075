"""Uploaded files: checked by content, images re-encoded, served only through views that
check access (DESIGN.md sections 4 and 10)."""
