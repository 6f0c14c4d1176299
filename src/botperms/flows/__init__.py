"""Permission flows: login link, account linking, leaving (deauthorize, data deletion)."""

from botperms.flows.client_kind import ClientKind, classify, messenger_url
from botperms.flows.errors import FailureReason, FlowError
from botperms.flows.leaving import (
    DATA_DELETION_PATH,
    DEAUTHORIZE_PATH,
    DELETION_STATUS_PATH,
    DeletionReceipt,
    LeavingService,
)
from botperms.flows.linking import LINK_START_PATH, LinkAborted, LinkingService, safe_redirect_uri
from botperms.flows.login import (
    CALLBACK_PATH,
    START_PATH,
    LoginDone,
    LoginService,
    LoginStart,
)
from botperms.flows.tickets import Ticket, TicketSigner

__all__ = [
    "CALLBACK_PATH",
    "DATA_DELETION_PATH",
    "DEAUTHORIZE_PATH",
    "DELETION_STATUS_PATH",
    "LINK_START_PATH",
    "START_PATH",
    "ClientKind",
    "DeletionReceipt",
    "FailureReason",
    "FlowError",
    "LeavingService",
    "LinkAborted",
    "LinkingService",
    "LoginDone",
    "LoginService",
    "LoginStart",
    "Ticket",
    "TicketSigner",
    "classify",
    "messenger_url",
    "safe_redirect_uri",
]
