"""Async Graph API client: transport, typed errors, paging, Send API, Login/OAuth, profiles,
the person's reads (me, likes, permissions)."""

from botperms.graph.bound import BoundGraph
from botperms.graph.client import GraphClient
from botperms.graph.errors import (
    GraphError,
    GraphPermissionError,
    InvalidParameterError,
    InvalidTokenError,
    LinkingTokenError,
    OutsideWindowError,
    PagingError,
    RateLimitedError,
    TransientError,
    UserUnavailableError,
)
from botperms.graph.linking import psid_for_linking_token, unlink_account
from botperms.graph.oauth import (
    AccessToken,
    TokenInfo,
    debug_token,
    dialog_url,
    exchange_code,
    exchange_long_lived,
    get_permissions,
    new_pkce_pair,
    revoke_permissions,
)
from botperms.graph.profile import (
    delete_messenger_profile,
    get_messenger_profile,
    set_messenger_profile,
)
from botperms.graph.reads import LikedPage, Me, Permissions
from botperms.graph.redaction import redact
from botperms.graph.responses import error_from_response
from botperms.graph.send import SendResult, is_sender_action, send_action, send_message
from botperms.graph.users import UserProfile, get_likes, get_user_profile

__all__ = [
    "AccessToken",
    "BoundGraph",
    "GraphClient",
    "GraphError",
    "GraphPermissionError",
    "InvalidParameterError",
    "InvalidTokenError",
    "LikedPage",
    "LinkingTokenError",
    "Me",
    "OutsideWindowError",
    "PagingError",
    "Permissions",
    "RateLimitedError",
    "SendResult",
    "TokenInfo",
    "TransientError",
    "UserProfile",
    "UserUnavailableError",
    "debug_token",
    "delete_messenger_profile",
    "dialog_url",
    "error_from_response",
    "exchange_code",
    "exchange_long_lived",
    "get_likes",
    "get_messenger_profile",
    "get_permissions",
    "get_user_profile",
    "is_sender_action",
    "new_pkce_pair",
    "psid_for_linking_token",
    "redact",
    "revoke_permissions",
    "send_action",
    "send_message",
    "set_messenger_profile",
    "unlink_account",
]
