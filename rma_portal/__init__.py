"""RMA Portal: multi-tenant B2B returns and complaints."""

from .celery import app as celery_app

__all__ = ["celery_app"]
