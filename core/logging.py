import logging


class TenantSchemaFilter(logging.Filter):
    """Adds `schema` (the tenant schema of the current connection) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            from core.tenancy import current_schema

            record.schema = current_schema()
        except Exception:  # logging must never raise, even before Django is ready
            record.schema = "-"
        return True
