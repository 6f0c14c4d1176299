"""The Facebook side of logging out: removing the app's permissions and unlinking the account
on Messenger's side. Both are best effort: our copy of the grant is what the person asked us to
forget, and it goes whatever Facebook answers."""

from __future__ import annotations

import structlog

from botperms.bot.runtime import Runtime
from botperms.graph import GraphError, revoke_permissions, unlink_account

log = structlog.get_logger(__name__)


async def remove_permissions(runtime: Runtime, psid: str, user_token: str) -> None:
    """``DELETE /me/permissions`` with the person's token; a failure is logged."""
    try:
        await revoke_permissions(runtime.graph, user_token)
    except GraphError as exc:
        # A token Facebook already dropped is fine: the permissions are gone either way.
        log.info("revoke.facebook_failed", psid=psid, error=exc.code)


async def unlink_on_messenger(runtime: Runtime, page_id: str, psid: str) -> None:
    """``POST /me/unlink_accounts`` with the page's token; a failure is logged."""
    try:
        await unlink_account(runtime.graph, await runtime.token_for(page_id), psid)
    except GraphError as exc:
        # Not linked on Messenger's side (e.g. logged in through the web button): our
        # grant is gone, which is what the person asked for.
        log.info("unlink.facebook_failed", psid=psid, error=exc.code)
