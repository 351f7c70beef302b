"""What the membership lifecycle tells other apps, after commit (Billing invoices each new term).

Mediation never imports billing: billing's receivers listen here.
"""

from django.dispatch import Signal

# membership_id: a term was created (convention accepted, or renewed); Billing issues its invoice.
membership_term_started = Signal()
# member_id, before, after: a member's status changed (mediation.members.membership.set_status)
membership_changed = Signal()
