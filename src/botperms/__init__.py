"""botperms: Facebook permissions for Messenger bots.

Everything a bot author needs comes from here: ``Bot`` and ``Router`` (register handlers),
``requires`` (a handler needs Facebook permissions), ``Context`` (what a handler gets),
``Prompts`` (the framework's own messages), ``FailureReason`` (why a login failed),
``NotGranted``; the message builders (``postback_button``, ``generic_element``, …, with
``InvalidMessage``); and the Graph errors a handler may catch (``GraphError`` and its kinds).
"""

from botperms.bot import (
    Bot,
    Context,
    Filter,
    Middleware,
    Next,
    NotGranted,
    Prompts,
    RegistrationError,
    Router,
    requires,
)
from botperms.failures import FailureReason
from botperms.graph.errors import (
    GraphError,
    GraphPermissionError,
    InvalidParameterError,
    InvalidTokenError,
    OutsideWindowError,
    PagingError,
    RateLimitedError,
    TransientError,
    UserUnavailableError,
)
from botperms.graph.reads import LikedPage, Me, Permissions
from botperms.graph.users import UserProfile
from botperms.messenger.builders import (
    InvalidMessage,
    MessageTooLarge,
    account_link_button,
    account_unlink_button,
    button_template,
    email_quick_reply,
    generic_element,
    generic_template,
    phone_quick_reply,
    postback_button,
    quick_reply,
    text_message,
    web_url_button,
    with_quick_replies,
)
from botperms.messenger.events import MessagingEvent

__all__ = [
    "Bot",
    "Context",
    "FailureReason",
    "Filter",
    "GraphError",
    "GraphPermissionError",
    "InvalidMessage",
    "InvalidParameterError",
    "InvalidTokenError",
    "LikedPage",
    "Me",
    "MessageTooLarge",
    "MessagingEvent",
    "Middleware",
    "Next",
    "NotGranted",
    "OutsideWindowError",
    "PagingError",
    "Permissions",
    "Prompts",
    "RateLimitedError",
    "RegistrationError",
    "Router",
    "TransientError",
    "UserProfile",
    "UserUnavailableError",
    "account_link_button",
    "account_unlink_button",
    "button_template",
    "email_quick_reply",
    "generic_element",
    "generic_template",
    "phone_quick_reply",
    "postback_button",
    "quick_reply",
    "requires",
    "text_message",
    "web_url_button",
    "with_quick_replies",
]
