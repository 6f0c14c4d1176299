"""Why a login did not complete: one enum for the flows that decide it and the bot that hears it.

A base module (it imports nothing of botperms) because both sides of the import rule need it:
``flows`` raises these reasons and stores their values with the login-failed event, ``bot``
hands them to ``@bot.on_login_failed`` handlers. A ``StrEnum``, so a stored value and the
member compare equal (``FailureReason.ACCESS_DENIED == "access_denied"``).
"""

from __future__ import annotations

from enum import StrEnum


class FailureReason(StrEnum):
    """Why a login failed, as ``@bot.on_login_failed`` handlers get it (``from botperms import
    FailureReason``).

    What the person can do next: ``ACCESS_DENIED`` (they pressed Cancel: leave them be);
    ``TICKET_EXPIRED``, ``TICKET_USED``, ``STATE_EXPIRED``, ``STATE_USED`` (an old or reused
    login link, or too long in the dialog: send a fresh link); ``BROWSER_MISMATCH`` (the login
    came back to another browser); the others are faults on Facebook's side or ours.
    """

    TICKET_INVALID = "ticket_invalid"
    TICKET_EXPIRED = "ticket_expired"
    TICKET_USED = "ticket_used"
    STATE_MISSING = "state_missing"
    STATE_INVALID = "state_invalid"
    STATE_EXPIRED = "state_expired"
    STATE_USED = "state_used"
    BROWSER_MISMATCH = "browser_mismatch"
    ACCESS_DENIED = "access_denied"
    CODE_MISSING = "code_missing"
    GRAPH_ERROR = "graph_error"
    TOKEN_INVALID = "token_invalid"
    WRONG_APP = "wrong_app"
    STORAGE_ERROR = "storage_error"
    # The person unlinked or logged out while this login was still in progress.
    LOGIN_CANCELLED = "login_cancelled"
    # Account linking: the redirect_uri is missing or points somewhere other than Messenger.
    LINK_REDIRECT_INVALID = "link_redirect_invalid"

    @property
    def fresh_link_helps(self) -> bool:
        """True when sending the person a new login link is the fix (an old, reused or
        timed-out link)."""
        return self in _STALE


_STALE = frozenset(
    {
        FailureReason.TICKET_INVALID,
        FailureReason.TICKET_EXPIRED,
        FailureReason.TICKET_USED,
        FailureReason.STATE_EXPIRED,
        FailureReason.STATE_USED,
    }
)


def failure_reason(value: str) -> FailureReason:
    """The member for a stored value; a value no release of botperms wrote (a hand-edited
    row) reads as ``GRAPH_ERROR``, "something went wrong", rather than failing the event."""
    try:
        return FailureReason(value)
    except ValueError:
        return FailureReason.GRAPH_ERROR
