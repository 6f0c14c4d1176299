"""The example bot: lists the pages a person likes on Facebook, using only the public API.

Run it with ``botperms serve`` (it is the default bot) or try it in ``botperms demo``; with
``BOTPERMS_LOGIN_FLOW=account_link`` it logs people in through Messenger's account linking.

- Get Started greets the person by first name.
- "likes" (or the menu's "My likes") needs ``user_likes``: ``@requires`` sends the login
  prompt, and after the login the same request is answered without asking again.
- "log in" / "Log in" and "log out" / "Log out" do what they say; logging out asks whether to
  remove the app on Facebook too.
- "talk to a person" passes the conversation to the Page Inbox (handover); while a person
  answers there the bot stays quiet, until the person says "bot" or the Page Inbox hands the
  conversation back.
"""

from __future__ import annotations

from botperms import (
    Bot,
    Context,
    FailureReason,
    GraphError,
    InvalidTokenError,
    account_unlink_button,
    requires,
)

bot = Bot(name="likes")

SCOPE = "user_likes"
# Payloads of the Get Started button, the persistent menu and our quick replies.
GET_STARTED = "GET_STARTED"
MY_LIKES = "MY_LIKES"
LOG_IN = "LOG_IN"
LOG_OUT = "LOG_OUT"
LOG_OUT_HERE = "LOG_OUT_HERE"
LOG_OUT_EVERYWHERE = "LOG_OUT_EVERYWHERE"

HELP = 'Say "likes" to see pages you like, or "log out" to make me forget your Facebook login.'
MENU = [("My likes", MY_LIKES), ("Log in", LOG_IN)]


async def prompt(ctx: Context, why: str = "") -> None:
    text = why or "Hi! Log in with Facebook and I'll tell you which pages you like."
    await ctx.send_login_prompt(text, scopes=[SCOPE])


async def list_likes(ctx: Context, intro: str = "Pages you like:") -> None:
    await ctx.typing()
    try:
        # The first 10 however Facebook pages them: it may send fewer per page than asked.
        pages = await ctx.user_graph.likes(limit=10)
    except InvalidTokenError:
        raise  # botperms asks the person to log in again, then answers this request
    except GraphError:
        await ctx.reply("Facebook didn't answer just now. Please try again in a minute.")
        return
    names = [page.name for page in pages]
    if not names:
        await ctx.reply("You don't like any pages yet, as far as Facebook tells me.")
        return
    lines = "\n".join(f"• {name}" for name in names)
    await ctx.reply(f"{intro}\n{lines}")


@bot.on_postback(GET_STARTED)
async def get_started(ctx: Context) -> None:
    profile = await ctx.user_profile()
    name = profile.first_name if profile is not None and profile.first_name else "there"
    await ctx.reply(
        f"Hi {name}! I can show you the pages you like on Facebook.", quick_replies=MENU
    )


@bot.on_message(text="likes", quick_reply=MY_LIKES)
@bot.on_message(text="my likes")
@bot.on_postback(MY_LIKES)
@requires(SCOPE, prompt="I need your permission to see your likes first.")
async def likes(ctx: Context) -> None:
    await list_likes(ctx)


@bot.on_message(text="log in", quick_reply=LOG_IN)
@bot.on_message(text="login")
@bot.on_postback(LOG_IN)
async def log_in(ctx: Context) -> None:
    if ctx.has_scopes(SCOPE):
        await ctx.reply("You're already logged in.", quick_replies=[("My likes", MY_LIKES)])
        return
    await prompt(ctx, "Log in with Facebook and I'll tell you which pages you like.")


@bot.on_message(text="log out")
@bot.on_message(text="logout")
@bot.on_postback(LOG_OUT)
async def log_out(ctx: Context) -> None:
    if ctx.grant is None:
        await ctx.reply("You weren't logged in.")
        return
    choices = [("Just log out", LOG_OUT_HERE), ("Also remove on FB", LOG_OUT_EVERYWHERE)]
    question = (
        "Log out? I'll forget your Facebook login. I can also remove this app's access on Facebook."
    )
    if ctx.login_flow == "account_link":
        # Messenger's own log-out button unlinks the account; its webhook says goodbye.
        await ctx.reply(question, buttons=[account_unlink_button()], quick_replies=choices)
    else:
        await ctx.reply(question, quick_replies=choices)


async def leave(ctx: Context, *, on_facebook: bool) -> None:
    # log_out revokes a web login and unlinks an account-linked one, whichever this person has.
    if not await ctx.log_out(on_facebook=on_facebook):
        await ctx.reply("You weren't logged in.")
    elif on_facebook:
        await ctx.reply("You're logged out, and the app's access on Facebook is removed.")
    else:
        await ctx.reply("You're logged out: I've deleted your Facebook token.")


@bot.on_message(quick_reply=LOG_OUT_HERE)
async def log_out_here(ctx: Context) -> None:
    await leave(ctx, on_facebook=False)


@bot.on_message(quick_reply=LOG_OUT_EVERYWHERE)
async def log_out_everywhere(ctx: Context) -> None:
    await leave(ctx, on_facebook=True)


@bot.on_account_linking
async def account_linking(ctx: Context) -> None:
    linking = ctx.event.account_linking if ctx.event else None
    if linking is not None and linking.status == "linked":
        await ctx.reply("Your Facebook account is now linked to this conversation.")


@bot.fallback
async def anything_else(ctx: Context) -> None:
    if ctx.has_scopes(SCOPE):
        await ctx.reply(HELP, quick_replies=[("My likes", MY_LIKES)])
    else:
        await prompt(ctx)


@bot.on_login
async def logged_in(ctx: Context, declined: tuple[str, ...]) -> None:
    if ctx.pending_intent is not None:
        return  # botperms now answers the request that waited for this login (or re-asks)
    if SCOPE in declined:
        await ctx.send_login_prompt(
            "You're logged in, but you didn't share your likes, so I can't list them. "
            "Tap below if you'd like to share them after all.",
            scopes=[SCOPE],
            auth_type="rerequest",
            button_title="Share my likes",
        )
        return
    await list_likes(ctx, intro="Thanks, you're logged in! Pages you like:")


@bot.on_login_failed
async def login_failed(ctx: Context, reason: FailureReason) -> None:
    if reason is FailureReason.ACCESS_DENIED:
        await ctx.reply("No problem. If you change your mind, just say hi.")
    elif reason.fresh_link_helps:
        await prompt(ctx, "That login link is no longer valid. Here's a fresh one.")
    else:
        await prompt(ctx, "Something went wrong while logging you in. Please try again.")


# -- handover: a person from the page answers in the Page Inbox (docs/handover.md) ----------
TALK_TO_A_PERSON = "TALK_TO_A_PERSON"


@bot.on_message(text="talk to a person")
@bot.on_message(text="human")
@bot.on_postback(TALK_TO_A_PERSON)
async def talk_to_a_person(ctx: Context) -> None:
    await ctx.reply(
        'OK, a person from the page will answer you here. Say "bot" when you want me back.'
    )
    await ctx.pass_thread_control(metadata="the person asked to talk to a person")


@bot.on_standby
async def while_a_person_answers(ctx: Context) -> None:
    # Standby: the Page Inbox owns the conversation. Its own messages come as echoes.
    if ctx.event is None or ctx.event.kind == "echo":
        return
    if (ctx.text or "").strip().lower() == "bot":
        await ctx.take_thread_control(metadata="the person asked for the bot")
        await ctx.reply(f"I'm back! {HELP}", quick_replies=[("My likes", MY_LIKES)])


@bot.on_event("pass_thread_control")
async def back_from_a_person(ctx: Context) -> None:
    """The Page Inbox handed the conversation back (a person there pressed Done)."""
    await ctx.reply(f"I'm back! {HELP}", quick_replies=[("My likes", MY_LIKES)])


@bot.on_event("request_thread_control")
async def a_person_asks(ctx: Context) -> None:
    """Someone at the Page Inbox wants this conversation: let them have it."""
    await ctx.pass_thread_control(metadata="the Page Inbox asked for it")
