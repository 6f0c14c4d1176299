"""What the web layer needs from the object graph; the composition root (``botperms.app``)
builds it through this constructor."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from botperms.config import Settings
from botperms.flows import LeavingService, LinkingService, LoginService
from botperms.store import NewInboxItem

Intake = Callable[[Sequence[NewInboxItem]], Awaitable[None]]


@dataclass(frozen=True)
class Services:
    """``intake`` stores a delivery's events durably (group commit with concurrent ones);
    ``wake_inbox`` tells the in-process worker, if any, that there is work; ``ready``: False
    while deliveries cannot be stored (the handler half of ``serve --processes 2`` is away),
    and ``/healthz`` says so."""

    settings: Settings
    login: LoginService
    linking: LinkingService
    leaving: LeavingService
    intake: Intake
    wake_inbox: Callable[[], None]
    ready: Callable[[], bool]
