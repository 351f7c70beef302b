"""The legal clock of a case: pure date arithmetic, no database.

Every deadline of a case is computed here from the dates of its events, never
typed by hand (R612-2 to R612-5, L612-2, Civil Code art. 2238).

Periods counted in days run from the day after the starting event, so a file
received on 1 March must be answered by 22 March (21 days). Periods in years
or months end on the same day number; when that day does not exist (29
February, 31st), on the last day of the month, as in art. 641 of the Code of
Civil Procedure.
"""

from __future__ import annotations

import calendar
import datetime

# L612-2, last paragraph: the consumer is told of an inadmissible request within 3 weeks of receipt.
ADMISSIBILITY_DAYS = 21
# R612-5: the outcome within 90 days of the notice of seizure, unless extended for a complex dispute.
OUTCOME_DAYS = 90
# L612-2 4°: a request more than one year after the written complaint is inadmissible.
COMPLAINT_VALIDITY_YEARS = 1
# Civil Code art. 2238: after the mediation, the limitation period runs again for at least six months.
LIMITATION_RESUME_MONTHS = 6
# Not set by law; what the firm proposes by default to answer a proposal (the mediator may choose another).
PROPOSAL_ANSWER_DAYS = 30
# A deadline is "soon" within this many days: shown in the inbox and reminded.
SOON_DAYS = 7


def add_months(day: datetime.date, months: int) -> datetime.date:
    """`day` plus `months` calendar months; the 31st (or 29 February) falls back to the month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return datetime.date(year, month + 1, min(day.day, last))


def add_years(day: datetime.date, years: int) -> datetime.date:
    return add_months(day, 12 * years)


def admissibility_due(received_on: datetime.date) -> datetime.date:
    """Last day to tell the consumer their request is inadmissible (L612-2): receipt of the complete file + 21 days."""
    return received_on + datetime.timedelta(days=ADMISSIBILITY_DAYS)


def outcome_due(opened_on: datetime.date, extended_until: datetime.date | None = None) -> datetime.date:
    """Last day for the outcome (R612-5): notice of seizure + 90 days, or the date of the notified extension."""
    due = opened_on + datetime.timedelta(days=OUTCOME_DAYS)
    if extended_until is not None and extended_until > due:
        return extended_until
    return due


def complaint_expires(complained_on: datetime.date) -> datetime.date:
    """The last day a request may reach the mediator after the written complaint (L612-2 4°)."""
    return add_years(complained_on, COMPLAINT_VALIDITY_YEARS)


def complaint_too_old(complained_on: datetime.date, received_on: datetime.date) -> bool:
    """Whether the request reached the mediator more than one year after the written complaint (L612-2 4°)."""
    return received_on > complaint_expires(complained_on)


def limitation_runs_again_until_at_least(ended_on: datetime.date) -> datetime.date:
    """Civil Code 2238: from the end of the mediation, the limitation period runs again for at least six months."""
    return add_months(ended_on, LIMITATION_RESUME_MONTHS)


def days_left(due: datetime.date, today: datetime.date) -> int:
    """Days from `today` to `due`: 0 on the last day, negative once overdue."""
    return (due - today).days


def urgency(due: datetime.date | None, today: datetime.date) -> str:
    """`overdue`, `soon` (within SOON_DAYS) or `ok`; `none` without a deadline."""
    if due is None:
        return "none"
    left = days_left(due, today)
    if left < 0:
        return "overdue"
    if left <= SOON_DAYS:
        return "soon"
    return "ok"
