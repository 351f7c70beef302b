"""Signals the tenant apps listen to: `tenants` imports none of them (ARCHITECTURE.md)."""

from django.dispatch import Signal

# Sent inside the provisioning transaction, with the connection on the new
# firm's schema. Keyword arguments: tenant, admin (the first admin user),
# signup (the tenants.Signup row with what the visitor typed).
firm_provisioned = Signal()
