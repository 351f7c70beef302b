# The project package is `config`, not `platform`: a package named `platform`
# would shadow the standard-library module that uuid, stripe and sentry-sdk import.
from .celery import app as celery_app

__all__ = ["celery_app"]
