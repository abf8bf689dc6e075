from django.apps import AppConfig


class FilesConfig(AppConfig):
    """Stored files: upload checks, rollback-safe storing, the orphaned-file sweep and its
    `sweep_files` command. No tables of its own (`StoredUpload` is abstract)."""

    name = "rma_portal.files"
    label = "files"
    verbose_name = "Stored files"
