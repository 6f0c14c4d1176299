"""Runs an ``App``'s inbox and outbox workers by hand until both are idle: a test's call
returns once its event (and everything that event queued: login outcomes, replays) has been
handled and every reply sent, with no sleeping and no background loop."""

from __future__ import annotations

from botperms.app import App

MAX_ROUNDS = 200


class BotFailed(AssertionError):
    """An event was dead-lettered (its handler raised) or a message could not be sent."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("the bot failed: " + "; ".join(errors))


class Driver:
    def __init__(self, app: App) -> None:
        self._app = app
        self._dead_events: set[int] = set()
        self._dead_sends: set[int] = set()

    async def settle(self) -> list[str]:
        """Work until nothing is due; returns the errors of what was dead-lettered meanwhile."""
        app = self._app
        for _ in range(MAX_ROUNDS):
            handled = await app.inbox.run_once()
            await app.inbox.drain()
            sent = await app.outbox.run_once()
            await app.outbox.drain()
            if not handled and not sent:
                return await self._new_dead()
        raise AssertionError(
            f"the bot was still busy after {MAX_ROUNDS} rounds (an event that queues itself?)"
        )

    async def _new_dead(self) -> list[str]:
        store = self._app.store
        errors: list[str] = []
        for item in await store.inbox_list(status="failed"):
            if item.id not in self._dead_events:
                self._dead_events.add(item.id)
                errors.append(f"{item.kind} event: {item.last_error}")
        for message in await store.outbox_list(status="dead"):
            if message.id not in self._dead_sends:
                self._dead_sends.add(message.id)
                errors.append(f"send to {message.psid}: {message.last_error}")
        return errors
