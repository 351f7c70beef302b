import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Load the broker's client library now (without connecting), not in the first request that queues a task.
from config.celery import app as celery_app  # noqa: E402

with celery_app.connection_for_write() as _connection:
    _connection.transport  # noqa: B018
