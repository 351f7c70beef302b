"""What the cases tell other apps, after commit (billing bills the per-case fee on `business_accepted`).

Mediation never imports billing: billing's receivers listen here.
"""

from django.dispatch import Signal

# case_id: a case was filed (online, or a postal request entered by staff): received, with its reference
case_created = Signal()
# case_id, before, after
case_status_changed = Signal()
# case_id, event_id: the business agreed to take part in the mediation
business_accepted = Signal()
