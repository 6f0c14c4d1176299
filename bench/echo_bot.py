"""The bot the pipeline benchmark runs: it answers every message with its own text."""

from __future__ import annotations

from botperms import Bot, Context

bot = Bot(name="echo")


@bot.on_message()
async def echo(ctx: Context) -> None:
    await ctx.reply(ctx.text or "?")
