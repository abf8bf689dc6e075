"""Uploaded files: checked by content, images re-encoded, served only through views that
check access (docs/architecture.md#uploads-and-stored-files)."""
