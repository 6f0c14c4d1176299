"""Every registration mistake stops the import at the author's line, with a message that says
what to write instead."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from botperms import Bot, Context, requires
from botperms.bot.registration import RegistrationError

HERE = Path(__file__).resolve()


def line_of(marker: str) -> int:
    """The line of this file marked ``# mistake: <marker>``."""
    tag = f"# mistake: {marker}"
    (line,) = [n for n, text in enumerate(HERE.read_text().splitlines(), 1) if tag in text]
    return line


def at(error: pytest.ExceptionInfo[Any], marker: str) -> str:
    """The problem, after checking the error points at this file, on the marked line."""
    assert isinstance(error.value, RegistrationError)
    assert Path(error.value.path).resolve() == HERE
    line = line_of(marker)
    assert error.value.lineno == line
    prefix = f"{error.value.filename}, line {line}: "
    assert str(error.value).startswith(prefix)
    return str(error.value)[len(prefix) :]


async def ok(ctx: Context) -> None:
    """A correct handler for every kind that takes only ctx."""


def test_a_plain_def_handler_is_refused_with_the_async_form() -> None:
    bot = Bot()
    with pytest.raises(RegistrationError) as error:

        @bot.on_message(text="hi")  # mistake: plain def
        def hi(ctx: Context) -> None:
            pass

    assert at(error, "plain def") == (
        "handler hi is a plain function; botperms awaits its handlers, so write `async def hi(ctx)`"
    )


def test_a_plain_def_login_handler_is_shown_its_two_arguments() -> None:
    bot = Bot()
    with pytest.raises(RegistrationError, match=r"`async def hello\(ctx, declined\)`"):

        @bot.on_login  # type: ignore[arg-type]
        def hello(ctx: Context, declined: tuple[str, ...]) -> None:
            pass


@pytest.mark.parametrize(
    ("register", "kind", "shape"),
    [
        (lambda bot: bot.on_message(text="hi"), "on_message", "ctx"),
        (lambda bot: bot.on_message(), "on_message", "ctx"),
        (lambda bot: bot.on_postback("HI"), "on_postback", "ctx"),
        (lambda bot: bot.fallback, "fallback", "ctx"),
        (lambda bot: bot.on_account_linking, "on_account_linking", "ctx"),
        (lambda bot: bot.on_login, "on_login", "ctx, declined"),
        (lambda bot: bot.on_login_failed, "on_login_failed", "ctx, reason"),
    ],
)
@pytest.mark.parametrize("takes", ["", "ctx, one, two", "*, ctx", "ctx, *, extra"])
def test_a_handler_with_the_wrong_arguments_is_told_what_botperms_passes(
    register: Callable[[Bot], Callable[[Any], Any]], kind: str, shape: str, takes: str
) -> None:
    if takes == "" and shape != "ctx":
        takes = "ctx"  # (ctx) alone is the mistake for the two-argument kinds
    namespace: dict[str, Any] = {}
    exec(f"async def handler({takes}):\n    pass\n", namespace)
    decorator = register(Bot())
    with pytest.raises(RegistrationError) as error:
        decorator(namespace["handler"])  # mistake: arguments
    assert at(error, "arguments") == (
        f"@bot.{kind} handler handler takes ({takes}), but botperms calls it with ({shape}); "
        f"write `async def handler({shape})`"
    )


def test_handlers_taking_what_botperms_passes_are_accepted() -> None:
    bot = Bot()

    @bot.on_login
    async def welcome(ctx: Context, declined: tuple[str, ...]) -> None:
        pass

    @bot.on_login_failed
    async def sorry(ctx: Context, reason: str = "", *rest: object) -> None:
        pass

    @bot.on_message(text="hi")
    async def flexible(*args: object, **kwargs: object) -> None:
        pass

    class Callable_:
        async def __call__(self, ctx: Context) -> None:
            pass

    bot.on_postback("OBJECT")(Callable_())
    assert bot._on_login == [welcome]
    assert bot._on_login_failed == [sorry]


def test_on_postback_without_parentheses_is_refused() -> None:
    bot = Bot()
    with pytest.raises(RegistrationError) as error:

        @bot.on_postback  # type: ignore[arg-type]  # mistake: bare on_postback
        async def started(ctx: Context) -> None:
            pass

    assert at(error, "bare on_postback") == (
        "@bot.on_postback needs the payload it answers, with parentheses: "
        '@bot.on_postback("GET_STARTED")'
    )


@pytest.mark.parametrize("payload", ["", None, 7])
def test_a_postback_payload_must_be_a_non_empty_string(payload: Any) -> None:
    with pytest.raises(RegistrationError, match="the payload must be a non-empty string"):
        Bot().on_postback(payload)


def test_on_message_without_parentheses_means_any_message() -> None:
    bot = Bot()

    @bot.on_message
    async def anything(ctx: Context) -> None:
        pass

    assert bot._any_message.plain is not None
    assert bot._any_message.plain.handler is anything
    assert bot.registered() == [("any", "", anything)]


def test_the_other_decorators_work_with_and_without_parentheses() -> None:
    bot = Bot()
    bot.fallback()(ok)
    bot.on_account_linking()(ok)
    bot.on_account_linking(ok)
    assert bot._fallback is not None
    assert bot._fallback.handler is ok
    assert bot._on_account_linking == [ok, ok]


def test_text_and_pattern_mistakes_name_the_line() -> None:
    bot = Bot()
    with pytest.raises(RegistrationError) as error:
        bot.on_message(text="  ")  # mistake: empty text
    assert at(error, "empty text") == "@bot.on_message(text='  ') needs some text"
    with pytest.raises(RegistrationError) as error:
        bot.on_message(pattern="(unclosed")  # mistake: pattern
    assert at(error, "pattern").startswith(
        "@bot.on_message(pattern='(unclosed') is not a regular expression: missing )"
    )


def test_a_mistyped_decorator_says_which_one_was_meant_at_its_line() -> None:
    bot = Bot()
    with pytest.raises(AttributeError) as error:
        bot.on_mesage(text="hi")  # type: ignore[attr-defined]  # mistake: typo
    message = "Bot has no decorator on_mesage (did you mean on_message?)"
    assert at(error, "typo") == message


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("on_postbak", "Bot has no decorator on_postbak (did you mean on_postback?)"),
        ("fallbak", "Bot has no decorator fallbak (did you mean fallback?)"),
        ("on_login_fail", "Bot has no decorator on_login_fail (did you mean on_login_failed?)"),
        ("max_reask", "Bot has no attribute max_reask (did you mean max_reasks?)"),
        (
            "requires",
            "requires is not a Bot decorator: write `from botperms import requires` and "
            '@requires("user_likes") under @bot.on_message(...)',
        ),
        (
            "command",
            "Bot has no decorator command; its decorators are fallback, middleware, "
            "on_account_linking, on_error, on_event, on_login, on_login_failed, on_message, "
            "on_postback, on_standby",
        ),
    ],
)
def test_unknown_attributes_suggest_the_closest_name(name: str, message: str) -> None:
    with pytest.raises(RegistrationError) as error:
        getattr(Bot(), name)
    assert error.value.problem == message


def test_hasattr_and_private_names_still_behave() -> None:
    bot = Bot()
    assert not hasattr(bot, "on_mesage")
    assert hasattr(bot, "on_message")
    with pytest.raises(AttributeError) as error:
        bot._nothing  # type: ignore[attr-defined]  # noqa: B018
    assert not isinstance(error.value, RegistrationError)


def test_an_unknown_permission_suggests_the_documented_one_at_its_line() -> None:
    with pytest.raises(RegistrationError) as error:
        requires("user_emial")  # mistake: permission
    assert at(error, "permission") == (
        "@requires: 'user_emial' is not a Facebook permission (did you mean 'email'?)"
    )


def test_requires_without_parentheses_or_permissions_is_refused() -> None:
    message = '@requires needs the permissions the handler uses: @requires("user_likes")'
    with pytest.raises(RegistrationError) as error:
        requires(ok)  # type: ignore[arg-type]  # mistake: bare requires
    assert at(error, "bare requires") == message
    with pytest.raises(RegistrationError, match="needs the permissions"):
        requires()


def test_a_registration_error_is_still_a_value_error() -> None:
    # Code written against the earlier checks (ValueError) keeps working.
    with pytest.raises(ValueError, match="needs some text"):
        Bot().on_message(text="")
