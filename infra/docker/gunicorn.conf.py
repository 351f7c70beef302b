"""gunicorn's configuration file for the image's `web` role (the sizing flags are in entrypoint.sh).

With PROMETHEUS_MULTIPROC_DIR set, each gunicorn worker writes its metrics there and /metrics sums them:
a dead worker's live gauges must be forgotten (docs/observability.md).
"""

from core.metrics import gunicorn_child_exit as child_exit  # noqa: F401 (a gunicorn hook, found by name)
