"""Wiring: builds every collaborator from ``Settings`` and runs the in-process workers."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import structlog

from botperms.bot import Bot, Dispatcher, Runtime
from botperms.config import Settings
from botperms.flows import (
    LINK_START_PATH,
    LeavingService,
    LinkingService,
    LoginService,
    TicketSigner,
)
from botperms.graph import GraphClient
from botperms.store import Database, Store, TokenCipher
from botperms.worker import InboxWorker, OutboxWorker

log = structlog.get_logger(__name__)


@dataclass
class Services:
    settings: Settings
    database: Database
    store: Store
    graph: GraphClient
    login: LoginService
    linking: LinkingService
    leaving: LeavingService
    dispatcher: Dispatcher
    inbox: InboxWorker
    outbox: OutboxWorker
    run_workers: bool = True

    @classmethod
    def build(
        cls,
        settings: Settings,
        bot: Bot,
        *,
        http: httpx.AsyncClient | None = None,
        run_workers: bool = True,
    ) -> Services:
        database = Database(settings.database_url)
        cipher = TokenCipher([key.get_secret_value() for key in settings.token_keys])
        store = Store(database, cipher)
        graph = GraphClient.from_settings(settings, http=http)
        tickets = TicketSigner(settings.app_secret.get_secret_value(), settings.ticket_ttl_seconds)
        login = LoginService(settings, graph, store, tickets)
        page_token = settings.page_token.get_secret_value()
        outbox = OutboxWorker(store, graph, page_token)
        runtime = Runtime(
            graph=graph,
            store=store,
            page_token=page_token,
            default_scopes=tuple(settings.scopes),
            login_links=login.login_url,
            wake_outbox=outbox.loop.wake,
            login_flow=settings.login_flow.value,
            link_url=settings.url(LINK_START_PATH),
        )
        dispatcher = Dispatcher(bot, runtime)
        login.listener = dispatcher
        inbox = InboxWorker(store, dispatcher.handle)
        runtime.wake_inbox = inbox.loop.wake
        return cls(
            settings=settings,
            database=database,
            store=store,
            graph=graph,
            login=login,
            linking=LinkingService(settings, graph, store, login),
            leaving=LeavingService(settings, store),
            dispatcher=dispatcher,
            inbox=inbox,
            outbox=outbox,
            run_workers=run_workers,
        )

    def wake_inbox(self) -> None:
        self.inbox.loop.wake()

    async def start(self) -> None:
        await self.database.migrate()
        if self.run_workers:
            recovered = await self.store.inbox_recover()
            if recovered:
                log.info("inbox.recovered", items=recovered)
            self.inbox.loop.start()
            self.outbox.loop.start()

    async def stop(self) -> None:
        await self.inbox.loop.stop()
        await self.outbox.loop.stop()
        await self.graph.aclose()
        await self.database.dispose()
