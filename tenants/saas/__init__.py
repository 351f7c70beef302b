"""The platform bills firms for their SaaS plan through Stripe Billing (public schema only)."""
