"""Reads for the operator console."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import DatabaseError, connection, transaction
from psycopg import sql

logger = logging.getLogger(__name__)

# Figures read from inside each firm's schema, one SQL expression per figure.
# A table that does not exist yet in a schema (an app not migrated there) counts as 0.
FIRM_FIGURES = {
    "staff": ("accounts_user", sql.SQL("is_active AND NOT is_platform_support AND role <> 'member'")),
    "members": ("members_member", sql.SQL("TRUE")),
    "active_members": ("members_member", sql.SQL("status = 'active'")),
    # Cases still running (mediation.cases.models.OPEN_STATUSES), and those filed this calendar year.
    "open_cases": (
        "cases_case",
        sql.SQL("status IN ('received', 'incomplete', 'opened', 'in_mediation', 'proposal_sent')"),
    ),
    "cases_this_year": (
        "cases_case",
        sql.SQL("received_at >= date_trunc('year', now())"),
    ),
    # Invoices (not credit notes, not drafts) issued this calendar year (billing.Invoice).
    "invoices_this_year": (
        "billing_invoice",
        sql.SQL("kind = 'invoice' AND status <> 'draft' AND issue_date >= date_trunc('year', now())::date"),
    ),
}


def firm_figures(schemas: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per-firm counts for a page of the console, in ONE query whatever the number of firms.

    Empty when the figures cannot be read (a schema behind the migrations).
    """
    schemas = list(schemas)
    figures: dict[str, dict[str, int]] = {schema: dict.fromkeys(FIRM_FIGURES, 0) for schema in schemas}
    if not schemas:
        return figures
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema = ANY(%s) AND table_name = ANY(%s)",
            [schemas, [table for table, _ in FIRM_FIGURES.values()]],
        )
        present = set(cursor.fetchall())
        parts = [
            sql.SQL("SELECT {schema}::text, {name}::text, count(*) FROM {table} WHERE {condition}").format(
                schema=sql.Literal(schema),
                name=sql.Literal(name),
                table=sql.Identifier(schema, table),
                condition=condition,
            )
            for schema in schemas
            for name, (table, condition) in FIRM_FIGURES.items()
            if (schema, table) in present
        ]
        if parts:
            try:
                # A schema that lags the code's migrations (mid-deploy) must not break the console.
                with transaction.atomic():
                    cursor.execute(sql.SQL(" UNION ALL ").join(parts))
                    rows = cursor.fetchall()
            except DatabaseError:
                logger.warning("console figures unavailable: a firm schema lags the migrations", exc_info=True)
                return {}
            for schema, name, count in rows:
                figures[schema][name] = count
    return figures
