"""The example bot: asks for ``user_likes`` through Facebook Login, then lists the person's likes.

Run it with ``botperms serve`` (it is the default bot) or try it in ``botperms demo``.
"""

from __future__ import annotations

from botperms import Bot, Context
from botperms.graph import GraphError, InvalidTokenError, get_likes

bot = Bot(name="likes")

SCOPE = "user_likes"
HELP = 'Say "likes" to see pages you like, or "logout" to make me forget your Facebook login.'


async def prompt(ctx: Context, why: str = "") -> None:
    text = why or "Hi! Log in with Facebook and I'll tell you which pages you like."
    await ctx.send_login_prompt(text, scopes=[SCOPE])


async def list_likes(ctx: Context, intro: str = "Pages you like:") -> None:
    try:
        pages = await get_likes(ctx.runtime.graph, ctx.user_token, limit=10)
    except InvalidTokenError:
        # Facebook no longer accepts the token (expired, password changed, app removed).
        await ctx.revoke(on_facebook=False, reason="token_invalid")
        await prompt(ctx, "Your Facebook login has expired. Log in again to see your likes.")
        return
    except GraphError:
        await ctx.reply("Facebook didn't answer just now. Please try again in a minute.")
        return
    if not pages:
        await ctx.reply("You don't like any pages yet, as far as Facebook tells me.")
        return
    lines = "\n".join(f"• {page.name}" for page in pages)
    await ctx.reply(f"{intro}\n{lines}")


@bot.on_message(text="likes")
async def likes(ctx: Context) -> None:
    if not ctx.has_scopes(SCOPE):
        await prompt(ctx, "I need your permission to see your likes first.")
        return
    await list_likes(ctx)


@bot.on_message(text="logout")
async def logout(ctx: Context) -> None:
    if await ctx.revoke():
        await ctx.reply("You're logged out: I've deleted your Facebook token.")
    else:
        await ctx.reply("You weren't logged in.")


@bot.on_postback("LOG_OUT")
async def logout_postback(ctx: Context) -> None:
    await logout(ctx)


@bot.fallback
async def anything_else(ctx: Context) -> None:
    if ctx.has_scopes(SCOPE):
        await ctx.reply(HELP)
    else:
        await prompt(ctx)


@bot.on_login
async def logged_in(ctx: Context, declined: tuple[str, ...]) -> None:
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
async def login_failed(ctx: Context, reason: str) -> None:
    if reason == "access_denied":
        await ctx.reply("No problem. If you change your mind, just say hi.")
    elif reason in {"ticket_expired", "ticket_used", "state_expired", "state_used"}:
        await prompt(ctx, "That login link is no longer valid. Here's a fresh one.")
    else:
        await prompt(ctx, "Something went wrong while logging you in. Please try again.")
