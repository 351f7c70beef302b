"""A trigram index for the name search of the platform-wide coverage index.

`tenants.coverage_index.search` filters `search_text LIKE '%word%'` (already
lower case and without accents): a GIN index with `gin_trgm_ops` serves that.

pg_trgm is installed once per database, in the schema first on the search path
when it is created. Another app may have created it already (possibly from a
firm's schema), so the operator class is looked up where the extension lives
rather than assumed to be in `public`. Raw SQL keeps the model's state as it
is (the index is not declared on the model, which is not this migration's to change).
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
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        SELECT n.nspname INTO ext_schema
          FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'pg_trgm';
    END IF;
    EXECUTE format(
        'CREATE INDEX IF NOT EXISTS covered_business_search_trgm '
        'ON tenants_coveredbusiness USING gin (search_text %I.gin_trgm_ops)',
        ext_schema
    );
END
$$;
"""

DROP = "DROP INDEX IF EXISTS covered_business_search_trgm;"


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0008_covered_business"),
    ]

    operations = [
        migrations.RunSQL(CREATE, DROP),
    ]
