"""Standby events: those of a conversation another app owns (handover). Nothing answers them
unless the bot has ``@bot.on_standby`` handlers, which may read them and take the conversation
back, and may reply only once they have taken it (docs/handover.md)."""

from __future__ import annotations

from collections.abc import Sequence

from botperms.bot.chain import guarded
from botperms.bot.context import Context, Handler
from botperms.graph.handover import THREAD_CONTROL
from botperms.store import Send


class StandbyReplyError(ValueError):
    """A standby handler replied to a conversation the bot does not own (it must
    ``take_thread_control()`` first). A ValueError: the event is dead-lettered at once."""


async def run_standby(handlers: Sequence[Handler], ctx: Context) -> None:
    """Run the bot's ``on_standby`` handlers for one standby event, then check that nothing
    was said to the person before the thread was taken back."""
    for handler in handlers:
        await guarded(handler(ctx), handler)  # a failure's log line names the handler
    taken = False
    for effect in ctx.effects:
        if not isinstance(effect, Send):
            continue
        call = effect.payload.get(THREAD_CONTROL)
        if isinstance(call, dict):
            taken = taken or call.get("action") == "take_thread_control"
        elif not taken:
            raise StandbyReplyError(
                "an on_standby handler replied while another app owns the conversation; "
                "call `await ctx.take_thread_control()` before replying"
            )
