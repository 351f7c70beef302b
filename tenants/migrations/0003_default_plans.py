from django.db import migrations

PLANS = [
    # code, name, description, monthly price (cents), active members, staff seats, order
    ("essentiel", "Essentiel", "Pour un médiateur indépendant qui démarre.", 4900, 100, 2, 1),
    ("cabinet", "Cabinet", "Pour un cabinet avec une équipe de médiation.", 14900, 1000, 10, 2),
    ("reseau", "Réseau", "Pour les grands cabinets et les fédérations professionnelles.", 39900, None, None, 3),
]


def create_plans(apps, schema_editor):
    Plan = apps.get_model("tenants", "Plan")
    for code, name, description, price, members, seats, order in PLANS:
        Plan.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "description": description,
                "monthly_price_cents": price,
                "max_active_members": members,
                "max_staff_seats": seats,
                "sort_order": order,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("tenants", "0002_plan_tenant_kind_tenant_plan_signup")]

    operations = [migrations.RunPython(create_plans, migrations.RunPython.noop)]
