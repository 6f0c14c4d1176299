"""``serve --processes 2``: the web part and the handlers in two processes on one machine.

The web process answers HTTP and hands each delivery's events to the handler process over a
Unix socket; the handler process stores them (group commit), acknowledges after the commit,
and runs the inbox and outbox workers. So the one SQLite file keeps one writer for the hot
path, and the second core does the handling. docs/performance.md says why and what it gains.
"""

from botperms.relay.client import RelayClient
from botperms.relay.process import HandlerProcess, die_with_parent
from botperms.relay.server import RelayServer

__all__ = ["HandlerProcess", "RelayClient", "RelayServer", "die_with_parent"]
