"""Permission flows: login link (and later account linking), tickets, OAuth state, returning."""

from botperms.flows.client_kind import ClientKind, classify, messenger_url
from botperms.flows.errors import FailureReason, FlowError
from botperms.flows.login import (
    CALLBACK_PATH,
    START_PATH,
    LoginDone,
    LoginListener,
    LoginService,
    LoginStart,
)
from botperms.flows.tickets import Ticket, TicketSigner

__all__ = [
    "CALLBACK_PATH",
    "START_PATH",
    "ClientKind",
    "FailureReason",
    "FlowError",
    "LoginDone",
    "LoginListener",
    "LoginService",
    "LoginStart",
    "Ticket",
    "TicketSigner",
    "classify",
    "messenger_url",
]
