"""Test a bot without HTTP servers or Facebook: ``async with ChatTester(bot) as chat``.

See the tutorial's "Test your bot" section.
"""

from botperms.testing.browser import LoginPageError
from botperms.testing.drive import BotFailed
from botperms.testing.fake_graph import FakeGraph, GraphCall
from botperms.testing.logins import Pending
from botperms.testing.people import PAGE_INBOX_APP_ID, Person
from botperms.testing.replies import Button, Element, QuickReply, Replies, Reply
from botperms.testing.tester import ChatTester

__all__ = [
    "PAGE_INBOX_APP_ID",
    "BotFailed",
    "Button",
    "ChatTester",
    "Element",
    "FakeGraph",
    "GraphCall",
    "LoginPageError",
    "Pending",
    "Person",
    "QuickReply",
    "Replies",
    "Reply",
]
