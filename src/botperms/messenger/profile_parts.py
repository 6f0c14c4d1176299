"""The parts of a Messenger Profile file (the page's settings: Get Started, greeting, menu, ice
breakers, whitelisted domains) as typed models, and the problems found in one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

PROPERTIES = (
    "get_started",
    "greeting",
    "ice_breakers",
    "persistent_menu",
    "whitelisted_domains",
    "account_linking_url",
)
DEFAULT_LOCALE = "default"


@dataclass(frozen=True)
class MessengerProfileProblem:
    """One problem of a Messenger Profile file: the field path and what is wrong there."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class MessengerProfileError(ValueError):
    """The Messenger Profile file cannot be used; ``problems`` lists every reason, one per
    field."""

    def __init__(self, problems: Sequence[MessengerProfileProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class _Part(BaseModel):
    # Unknown keys are refused: a typo ("greetings") must not silently do nothing.
    model_config = ConfigDict(extra="forbid", frozen=True)


class GetStarted(_Part):
    payload: str


class Greeting(_Part):
    locale: str
    text: str


class MenuItem(_Part):
    type: str
    title: str
    payload: str | None = None
    url: str | None = None
    webview_height_ratio: str | None = None
    messenger_extensions: bool | None = None
    fallback_url: str | None = None
    webview_share_button: str | None = None


class Menu(_Part):
    locale: str
    composer_input_disabled: bool = False
    call_to_actions: tuple[MenuItem, ...] = ()


class IceBreaker(_Part):
    question: str
    payload: str


class IceBreakers(_Part):
    locale: str
    call_to_actions: tuple[IceBreaker, ...]


class MessengerProfileFile(_Part):
    """The Messenger Profile file as written; a property left out is not managed (see
    ``--prune``)."""

    get_started: GetStarted | None = None
    greeting: tuple[Greeting, ...] | None = None
    persistent_menu: tuple[Menu, ...] | None = None
    ice_breakers: tuple[IceBreakers, ...] | None = None
    whitelisted_domains: tuple[str, ...] | None = None
