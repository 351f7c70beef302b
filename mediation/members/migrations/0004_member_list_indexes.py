"""Indexes of the staff member list (issue 5: 50,000 members, p95 under 100 ms a page).

- Keyset pagination walks an index in each sort's order: (legal_name, id)
  exists already (members_member_name_idx), the SIREN is unique; this adds
  (city, legal_name, id), (status, legal_name, id) and (created_at, id).
- The search is `icontains`, which Django writes `UPPER(col::text) LIKE
  UPPER('%…%')`: GIN trigram indexes on exactly that expression serve it for
  patterns of 3 characters or more. A SIRET prefix gets a pattern btree (the
  SIREN has one already, made by Django for its unique constraint).

pg_trgm is installed once per database. When it is missing it is created in
`public` explicitly (a firm's schema comes first on the search path while this
runs, and an extension living in a firm's schema would vanish with it); when
another migration created it already, its operator class is taken from the
schema it lives in (as tenants/0009 does). An advisory lock keeps two parallel
`migrate_schemas` processes from creating it at the same time.

Raw SQL keeps the model state unchanged (models.py is not this migration's to
edit); each index is named `members_member_*` and dropped on reverse.
"""

from django.db import migrations

CREATE = """
DO $$
DECLARE
    ext_schema text;
BEGIN
    SELECT n.nspname INTO ext_schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_trgm';
    IF ext_schema IS NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext('members.0004.pg_trgm'));
        CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
        SELECT n.nspname INTO ext_schema
          FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'pg_trgm';
    END IF;
    EXECUTE format(
        'CREATE INDEX IF NOT EXISTS members_member_legal_name_trgm '
        'ON members_member USING gin (UPPER(legal_name::text) %I.gin_trgm_ops)', ext_schema);
    EXECUTE format(
        'CREATE INDEX IF NOT EXISTS members_member_trade_name_trgm '
        'ON members_member USING gin (UPPER(trade_name::text) %I.gin_trgm_ops)', ext_schema);
    EXECUTE format(
        'CREATE INDEX IF NOT EXISTS members_member_city_trgm '
        'ON members_member USING gin (UPPER(city::text) %I.gin_trgm_ops)', ext_schema);
END
$$;
CREATE INDEX IF NOT EXISTS members_member_siret_like ON members_member (siret varchar_pattern_ops);
CREATE INDEX IF NOT EXISTS members_member_city_sort ON members_member (city, legal_name, id);
CREATE INDEX IF NOT EXISTS members_member_status_sort ON members_member (status, legal_name, id);
CREATE INDEX IF NOT EXISTS members_member_created_sort ON members_member (created_at, id);
"""

DROP = """
DROP INDEX IF EXISTS members_member_legal_name_trgm;
DROP INDEX IF EXISTS members_member_trade_name_trgm;
DROP INDEX IF EXISTS members_member_city_trgm;
DROP INDEX IF EXISTS members_member_siret_like;
DROP INDEX IF EXISTS members_member_city_sort;
DROP INDEX IF EXISTS members_member_status_sort;
DROP INDEX IF EXISTS members_member_created_sort;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0003_news"),
    ]

    operations = [
        migrations.RunSQL(CREATE, DROP),
    ]
