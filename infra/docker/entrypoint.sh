#!/bin/sh
# The image's entrypoint: the first argument picks the role; anything else runs as a command
# (e.g. `docker run IMAGE python manage.py shell`).
#   web       gunicorn serving config.wsgi on $PORT (default 8000)
#   worker    a Celery worker (tasks carry their tenant)
#   beat      Celery beat: exactly one per deployment (it fans periodic work out to every firm)
#   migrate   migrate every schema (up-to-date ones skipped), then the template and the pool of spare schemas
#   demo      development only: migrate and seed the demo firm (refused when DJANGO_ENV=production)
set -eu

role="${1:-web}"

# Prometheus multiprocess mode (docs/observability.md): each gunicorn worker or Celery child writes its
# metrics in this folder and /metrics (or the worker's metrics port) sums them. Emptied at start: a previous
# run's files would be summed in.
fresh_metrics_dir() {
  export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/tmp/prometheus}"
  rm -rf "$PROMETHEUS_MULTIPROC_DIR"
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
}

case "$role" in
  web)
    shift
    fresh_metrics_dir
    exec gunicorn config.wsgi:application \
      --config infra/docker/gunicorn.conf.py \
      --bind "0.0.0.0:${PORT:-8000}" \
      --workers "${WEB_CONCURRENCY:-3}" \
      --threads "${GUNICORN_THREADS:-2}" \
      --worker-class gthread \
      --worker-tmp-dir /dev/shm \
      --timeout "${GUNICORN_TIMEOUT:-60}" \
      --graceful-timeout 30 \
      --keep-alive 5 \
      --max-requests "${GUNICORN_MAX_REQUESTS:-2000}" \
      --max-requests-jitter 200 \
      --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-*}" \
      --access-logfile - \
      "$@"
    ;;
  worker)
    shift
    fresh_metrics_dir
    exec celery -A config worker \
      --loglevel "${LOG_LEVEL:-INFO}" \
      --concurrency "${CELERY_CONCURRENCY:-2}" \
      --hostname "worker@%h" \
      --without-mingle \
      "$@"
    ;;
  beat)
    shift
    # DatabaseScheduler keeps the schedule in PostgreSQL; the local state file goes to /tmp (an emptyDir).
    exec celery -A config beat \
      --loglevel "${LOG_LEVEL:-INFO}" \
      --pidfile "" \
      --schedule /tmp/celerybeat-schedule \
      "$@"
    ;;
  migrate)
    shift
    python manage.py migrate_schemas --executor=multiprocessing --noinput
    exec python manage.py tenant_pool
    ;;
  demo)
    shift
    exec python manage.py prepare_dev
    ;;
  *)
    exec "$@"
    ;;
esac
