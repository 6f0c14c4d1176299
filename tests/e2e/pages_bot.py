"""The bot the many-pages tests run: it answers as the page the message came to, and greets
the person by the first name that page's token reads from the User Profile API."""

from __future__ import annotations

from botperms import Bot, Context

bot = Bot(name="pages")


@bot.on_message()
async def answer(ctx: Context) -> None:
    profile = await ctx.user_profile()
    name = profile.first_name if profile is not None else "?"
    page = await ctx.page_graph.get("/me", params={"fields": "id,name"})
    await ctx.reply(f"{page['name']} to {name}: {ctx.text}")
