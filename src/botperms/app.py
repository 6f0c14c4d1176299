"""The composition root: the whole object graph, built from ``Settings`` through constructors.

``serve``, the demo, the benchmark and the tests all build botperms here; nothing is wired by
setting attributes afterwards. ``App.start``/``App.stop`` run in the web app's lifespan.

Three roles (docs/deployment.md): ``embedded`` (``botperms serve``: the web part and the
in-process workers, on SQLite or PostgreSQL), ``web`` (``serve --web-only``: webhook and login
pages; events go to the queue engine) and ``worker`` (``botperms worker``: handlers and sends
from the queue engine). The last two need PostgreSQL and run any number of times. The embedded
role can also run as two halves on one machine (``serve --processes 2``, ``half``): the web
half hands deliveries to a handler half over a Unix socket (botperms.relay).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
import structlog
from starlette.applications import Starlette

from botperms.bot import Bot
from botperms.bot.dispatcher import Dispatcher
from botperms.bot.runtime import Runtime
from botperms.config import Settings
from botperms.flows import (
    LINK_START_PATH,
    START_PATH,
    LeavingService,
    LinkingService,
    LoginService,
    TicketSigner,
)
from botperms.flows.ticket_refs import LoginLinkReferences
from botperms.graph import GraphClient
from botperms.graph.usage import Pacer
from botperms.metrics import counts, take_peer_counts
from botperms.relay import HandlerProcess, RelayClient, RelayServer
from botperms.roles import (
    Half,
    HandlerHalf,
    Role,
    WebHalf,
    always,
    check_setup,
    defer_turn,
    intake_flush,
    nothing,
    refuse_sqlite_apart,
    relay_flush,
    relay_wake,
    wake_inbox,
)
from botperms.store import (
    Batcher,
    Database,
    NewInboxItem,
    RoleLock,
    Store,
    StoreError,
    TokenCipher,
    UnsafeSetup,
)
from botperms.store.page_directory import PageDirectory
from botperms.store.sqlite_lane import Checkpointer
from botperms.web import create_app as create_web_app
from botperms.web.metrics_server import MetricsServer
from botperms.web.services import Services
from botperms.worker import InboxWorker, OutboxWorker, RetryPolicy
from botperms.worker.backlog import Backlog
from botperms.worker.gauges import QueueGauges
from botperms.worker.group_turn import GroupTurn
from botperms.worker.housekeeping import Housekeeper, retention_from
from botperms.worker.outbox import Tries
from botperms.worker.page_backoff import PageBackoff
from botperms.worker.process_lock import ProcessLock
from botperms.worker.remote_sending import RemoteSender, answer_sends
from botperms.worker.sending import Sender

if TYPE_CHECKING:
    from botperms.worker.distributed import DistributedWorker
    from botperms.worker.engine import QueueEngine

log = structlog.get_logger(__name__)

# How long the web half of `serve --processes 2` waits for its handler half to listen.
HANDLER_START_SECONDS = 60

# Role and check_setup belong to botperms.roles; the CLI and tests find them here too.
__all__ = ["App", "HandlerHalf", "Role", "WebHalf", "check_setup", "create_app"]


@dataclass
class App:
    """Every collaborator of one botperms process. Build it with :meth:`build`."""

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
    intake: Batcher[Sequence[NewInboxItem], None]
    services: Services
    run_workers: bool = True
    role: Role = Role.EMBEDDED
    # The distributed mode's queue engine and worker (roles web and worker).
    engine: QueueEngine | None = None
    worker: DistributedWorker | None = None
    # Operations (docs/operations.md): the queue gauges, /metrics on its own port, and the
    # periodic housekeeping the workers run. None: switched off in the settings.
    gauges: QueueGauges | None = None
    metrics_server: MetricsServer | None = None
    housekeeper: Housekeeper | None = None
    # SQLite: the WAL checkpoints, in a thread of their own (store/sqlite_lane.py).
    checkpointer: Checkpointer | None = None
    # serve --processes 2: the web half's link to the handler half and the child process it
    # runs, or the handler half's end of the link.
    relay_client: RelayClient | None = None
    handlers: HandlerProcess | None = None
    relay_server: RelayServer | None = None
    # Set when the web half hung up with sends unanswered: the handler half then stops, and
    # its restart resends them.
    relay_lost: asyncio.Event = field(default_factory=asyncio.Event)
    _lock: ProcessLock | None = field(default=None, repr=False)
    _role_lock: RoleLock | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        settings: Settings,
        bot: Bot,
        *,
        http: httpx.AsyncClient | None = None,
        run_workers: bool = True,
        role: Role = Role.EMBEDDED,
        concurrency: int | None = None,
        half: Half | None = None,
    ) -> App:
        """``http``: an httpx client for every Graph call (tests pass one with a mock or a
        loopback transport); without it the Graph client uses pyreqwest. ``role``: which part
        of botperms this process runs; ``concurrency``: a worker's jobs at once; ``half``:
        which half of an embedded pair this process is (``serve --processes 2``)."""
        if half is not None and role is not Role.EMBEDDED:
            raise ValueError("only the embedded role runs as two halves")
        web_half = half if isinstance(half, WebHalf) else None
        if web_half is not None:
            run_workers = False  # the handler half runs them
        # The process that runs the workers owns its SQLite file: it runs the WAL checkpoints.
        handles = role is Role.EMBEDDED and web_half is None
        database = Database(settings.database_url, background_checkpoints=handles)
        refuse_sqlite_apart(database, role)
        if half is not None and not database.is_sqlite:
            raise UnsafeSetup(
                "--processes 2 is for SQLite; on PostgreSQL run `botperms serve --web-only` "
                "and `botperms worker` processes (docs/deployment.md)"
            )
        engine: QueueEngine | None = None
        if role is not Role.EMBEDDED:
            # Imported here: procrastinate and psycopg would cost the embedded process ~11 MB.
            from botperms.worker.engine import QueueEngine

            engine = QueueEngine(
                settings.database_url, stalled_after=settings.worker_stalled_seconds
            )
        cipher = TokenCipher([key.get_secret_value() for key in settings.token_keys])
        store = Store(database, cipher)
        graph = GraphClient.from_settings(settings, http=http)
        page_token = settings.page_token.get_secret_value()
        tickets = TicketSigner(settings.app_secret.get_secret_value(), settings.ticket_ttl_seconds)
        # Login buttons are queued as references and signed when sent: no ticket at rest.
        links = LoginLinkReferences(tickets, settings.url(START_PATH), tuple(settings.scopes))
        # The settings' page and the pages table (`botperms pages`): tokens from memory, and
        # a rate-limited page's sends paused for every worker (page_backoff).
        pages = PageDirectory(store, shortcut={settings.page_id: page_token})
        sender = Sender(
            graph,
            pages.token,
            backoff=PageBackoff(store),
            pacer=Pacer(),
            render=links.render,
        )
        # Backpressure only where this process handles what it stores.
        backlog = Backlog(
            settings.intake_backlog_limit if handles and run_workers else 0,
            max_wait=settings.intake_max_wait_seconds,
        )
        # The inbox worker's wake-up signal exists first: the login service (which the
        # dispatcher needs for its URLs) sets it when it queues a login outcome.
        inbox_signal = asyncio.Event()
        # serve --processes 2: the web half answers the handler half's sends with its sender.
        relay_client = (
            RelayClient(web_half.socket, answer=answer_sends(sender), on_report=take_peer_counts)
            if web_half is not None
            else None
        )
        intake: Batcher[Sequence[NewInboxItem], None] = Batcher(
            "webhook_intake",
            relay_flush(relay_client)
            if relay_client is not None
            else intake_flush(store, engine, backlog if backlog.limit else None),
            max_batch=200,
        )
        relay_lost = asyncio.Event()
        relay_server = (
            RelayServer(
                half.socket,
                intake.submit,
                inbox_signal.set,
                on_lost=relay_lost.set,
                # The handler half's counters reach /metrics through the web half.
                report=counts if settings.metrics else None,
            )
            if isinstance(half, HandlerHalf)
            else None
        )
        tries: Tries = (
            RemoteSender(relay_server.ask, PageBackoff(store))
            if relay_server is not None
            else sender
        )
        outbox = OutboxWorker(
            store, tries, max_in_flight=settings.send_concurrency, backlog=backlog
        )
        if engine is not None:
            on_event_queued = defer_turn(engine)
        elif relay_client is not None:
            on_event_queued = relay_wake(relay_client)
        else:
            on_event_queued = wake_inbox(inbox_signal)
        login = LoginService(settings, graph, store, tickets, on_event_queued=on_event_queued)
        runtime = Runtime(
            graph=graph,
            store=store,
            page_token=page_token,
            default_scopes=tuple(settings.scopes),
            login_links=links.reference,
            login_flow=settings.login_flow.value,
            link_url=settings.url(LINK_START_PATH),
            profile_ttl=timedelta(seconds=settings.profile_ttl_seconds),
            pages=frozenset({settings.page_id}),
            directory=pages,
        )
        dispatcher = Dispatcher(bot, runtime, failure_notice=settings.failure_notice)
        policy = RetryPolicy(
            max_attempts=settings.handler_max_attempts, strict_order=bot.strict_order
        )
        inbox = InboxWorker(
            store,
            dispatcher,
            policy=policy,
            max_in_flight=settings.handler_concurrency,
            on_sends=outbox.loop.wake,
            signal=inbox_signal,
            backlog=backlog,
        )
        worker: DistributedWorker | None = None
        if engine is not None and role is Role.WORKER:
            from botperms.worker.distributed import DistributedWorker

            engine.bind(GroupTurn(store, inbox.handling, sender, later=engine.later))
            worker = DistributedWorker(
                engine,
                store,
                concurrency=concurrency or settings.worker_concurrency,
                sweep_every=settings.worker_sweep_seconds,
                sweep_older_than=settings.worker_sweep_seconds,
            )
        linking = LinkingService(settings, graph, store, login, pages=pages)
        leaving = LeavingService(settings, store)
        services = Services(
            settings=settings,
            login=login,
            linking=linking,
            leaving=leaving,
            intake=intake.submit,
            # In the distributed mode the intake's flush defers the jobs itself, and the
            # handler half wakes itself once it has stored what the web half handed over.
            wake_inbox=inbox_signal.set if engine is None and relay_client is None else nothing,
            ready=relay_client.ready if relay_client is not None else always,
        )
        return cls(
            settings=settings,
            database=database,
            store=store,
            graph=graph,
            login=login,
            linking=linking,
            leaving=leaving,
            dispatcher=dispatcher,
            inbox=inbox,
            outbox=outbox,
            intake=intake,
            services=services,
            run_workers=run_workers and role is Role.EMBEDDED,
            role=role,
            engine=engine,
            worker=worker,
            # The handler half's gauges would be read and never shown: the web half's are.
            gauges=QueueGauges(store, pages=frozenset({settings.page_id}))
            if settings.metrics and not isinstance(half, HandlerHalf)
            else None,
            metrics_server=MetricsServer(
                settings.metrics_host,
                settings.metrics_port,
                # A worker has no web port: its metrics port answers /healthz for it.
                **({"health": worker.health} if worker is not None else {}),
            )
            # The handler half has no port of its own: the web half's is the pair's.
            if settings.metrics
            and settings.metrics_port is not None
            and not isinstance(half, HandlerHalf)
            else None,
            housekeeper=Housekeeper(
                store, retention_from(settings), interval=settings.housekeeping_interval_seconds
            )
            if settings.housekeeping_interval_seconds > 0
            else None,
            checkpointer=Checkpointer(database.lane)
            if database.lane is not None and handles
            else None,
            relay_client=relay_client,
            handlers=HandlerProcess(web_half.command) if web_half is not None else None,
            relay_server=relay_server,
            relay_lost=relay_lost,
        )

    async def start(self) -> None:
        await self.database.migrate()
        if self.metrics_server is not None:
            self.metrics_server.start()
        if self.gauges is not None:
            self.gauges.loop.start()
        if self.engine is not None:
            self._role_lock = RoleLock(self.database, embedded=False)
            await self._role_lock.acquire()
            await self.engine.open()
            if self.role is Role.WORKER and self.housekeeper is not None:
                self.housekeeper.loop.start()
            return
        if self.handlers is not None:
            await self._start_handler_half()
        if not self.run_workers:
            return
        if self.database.is_sqlite:
            if self.relay_server is None:
                # Two embedded processes on one SQLite file would both send every reply. (The
                # handler half holds the lock its web half took and passed on.)
                self._lock = ProcessLock.for_database(self.settings.database_url)
                self._lock.acquire()
            if self.checkpointer is not None:
                self.checkpointer.start()
        else:
            self._role_lock = RoleLock(self.database, embedded=True)
            await self._role_lock.acquire()
        recovered = await self.store.inbox_recover()
        if recovered:
            log.info("inbox.recovered", items=recovered)
        if self.inbox.backlog is not None and self.inbox.backlog.limit:
            # What an earlier run left waiting counts against the limit from the start.
            waiting = (await self.store.inbox_counts()).get("pending", 0)
            waiting += (await self.store.outbox_counts()).get("pending", 0)
            self.inbox.backlog.added(waiting)
        ambiguous = await self.store.outbox_recover()
        if ambiguous:
            # These were in flight when the last process stopped: the Send API may or may not
            # have delivered them, and there is no idempotency key to ask. They go again.
            log.warning("outbox.resending_ambiguous", items=ambiguous)
        self.inbox.loop.start()
        self.outbox.loop.start()
        if self.housekeeper is not None:
            self.housekeeper.loop.start()
        if self.relay_server is not None:
            await self.relay_server.start()

    async def _start_handler_half(self) -> None:
        """The web half: take the database's lock, start the handler half with it, and wait
        until it listens (its start-up recovers what an earlier run left)."""
        assert self.handlers is not None
        assert self.relay_client is not None
        self._lock = ProcessLock.for_database(self.settings.database_url)
        self._lock.acquire()
        await self.handlers.start(pass_fds=() if self._lock.fd is None else (self._lock.fd,))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HANDLER_START_SECONDS
        while not self.relay_client.connected:
            if not self.handlers.running:
                raise RuntimeError("the handler process exited while starting; its log says why")
            try:
                await self.relay_client.connect(within=0.2)
            except StoreError:
                if loop.time() > deadline:
                    raise RuntimeError(
                        f"the handler process did not listen within {HANDLER_START_SECONDS} s"
                    ) from None

    async def stop(self) -> None:
        if self.relay_server is not None:
            # Nothing new arrives; what did is stored and answered before the workers stop.
            await self.relay_server.stop_intake()
        if self.handlers is not None:
            await self.intake.close()
            await self.handlers.stop()
        if self.relay_client is not None:
            await self.relay_client.close()
        if self.housekeeper is not None:
            await self.housekeeper.loop.stop()
        if self.gauges is not None:
            await self.gauges.loop.stop()
        if self.metrics_server is not None:
            await asyncio.to_thread(self.metrics_server.stop)
        await self.inbox.loop.stop()
        await self.inbox.drain()
        await self.outbox.loop.stop()
        await self.outbox.drain()
        if self.relay_server is not None:
            # Only now: the web half made the sends the outbox just drained.
            await self.relay_server.stop()
        await self.intake.close()
        if self.engine is not None:
            await self.engine.close()
        if self.checkpointer is not None:
            await self.checkpointer.stop()
        await self.graph.aclose()
        if self._role_lock is not None:
            await self._role_lock.release()
            self._role_lock = None
        await self.database.dispose()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    async def run_worker(self) -> None:
        """The ``worker`` role's life: start, run jobs until cancelled, stop."""
        if self.worker is None:
            raise RuntimeError("App.run_worker needs an App built with role=Role.WORKER")
        await self.start()
        try:
            await self.worker.run()
        finally:
            await self.stop()

    def asgi(self) -> Starlette:
        """The web app over this graph; its lifespan starts and stops it."""
        app = create_web_app(self.services, on_start=self.start, on_stop=self.stop)
        app.state.app = self
        return app


def create_app(
    settings: Settings,
    bot: Bot,
    *,
    http: httpx.AsyncClient | None = None,
    run_workers: bool = True,
    role: Role = Role.EMBEDDED,
    half: Half | None = None,
) -> Starlette:
    """Build botperms for ``bot`` and return its web app (what ``botperms serve`` runs)."""
    built = App.build(settings, bot, http=http, run_workers=run_workers, role=role, half=half)
    return built.asgi()
