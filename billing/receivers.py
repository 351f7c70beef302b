"""Billing's receivers of mediation's domain signals (connected in BillingConfig.ready)."""
