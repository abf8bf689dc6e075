# Production image. Runs gunicorn by default; the same image runs the Celery worker and beat
# (docker-compose.yml). Configuration comes from environment variables (docs/operations.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Pango for WeasyPrint, plus libharfbuzz-subset0 (3-4x faster font subsetting than the
# fallback, DESIGN.md §8), a font for the PDFs, and gettext for compilemessages.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core gettext \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY . .
RUN pip install .

# The code runs from /app, next to templates/ and static/ (settings.BASE_DIR); the installed
# copy brings the dependencies.
ENV PYTHONPATH=/app \
    VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/data/media

# Settings load in production mode only with a database URL and a secret; these dummies are
# never connected to or kept (nothing here touches the database).
RUN export SECRET_KEY=build-time-only DATABASE_URL=postgres://build@localhost/build \
    && python manage.py collectstatic --noinput \
    && if [ -d locale ]; then python manage.py compilemessages; fi

RUN useradd --create-home --uid 1000 app \
    && mkdir -p /app/var /data/media \
    && chown app:app /app/var /data/media
USER app

# 2 sync workers: measured fastest on 2 cores (DESIGN.md §2). Override per host through
# GUNICORN_CMD_ARGS; /dev/shm keeps worker heartbeats off the container's overlay filesystem.
ENV GUNICORN_CMD_ARGS="--bind 0.0.0.0:8000 --workers 2 --worker-class sync --worker-tmp-dir /dev/shm --access-logfile -"
EXPOSE 8000
CMD ["gunicorn", "rma_portal.wsgi"]
