"""The demo's files and settings: secrets kept per data folder, the bot's settings, fakebook's
config file and ``demo.env`` (the demo's settings for the other commands)."""

from __future__ import annotations

import json
import secrets
import shlex
from pathlib import Path

from cryptography.fernet import Fernet

from botperms.cli.ports import check_free
from botperms.config import DEMO_SECRET_PREFIX, LoginFlow, Settings
from botperms.flows import CALLBACK_PATH, DATA_DELETION_PATH, DEAUTHORIZE_PATH

DEMO_APP_ID = "1000000000000001"
DEMO_PAGE_ID = "2000000000000002"


def _demo_secrets(data_dir: Path) -> dict[str, str]:
    """Secrets generated once per data folder, so stored tokens stay readable across runs."""
    path = data_dir / "demo-secrets.json"
    if path.exists():
        loaded: dict[str, str] = json.loads(path.read_text())
        return loaded
    values = {
        "app_secret": DEMO_SECRET_PREFIX + secrets.token_hex(16),
        "verify_token": DEMO_SECRET_PREFIX + secrets.token_urlsafe(12),
        "page_token": "EAAdemo" + secrets.token_urlsafe(32).replace("-", "").replace("_", ""),
        "token_key": Fernet.generate_key().decode(),
    }
    path.write_text(json.dumps(values, indent=2))
    path.chmod(0o600)
    return values


def demo_settings(
    port: int,
    fakebook_url: str,
    data_dir: Path,
    values: dict[str, str],
    login_flow: LoginFlow = LoginFlow.WEB,
) -> Settings:
    return Settings(
        app_id=DEMO_APP_ID,
        app_secret=values["app_secret"],
        verify_token=values["verify_token"],
        page_id=DEMO_PAGE_ID,
        page_token=values["page_token"],
        public_url=f"http://127.0.0.1:{port}",
        graph_url=fakebook_url,
        www_url=fakebook_url,
        m_me_url=f"{fakebook_url}/m.me",
        extensions_sdk_url=f"{fakebook_url}/sdk/messenger.Extensions.js",
        database_url=f"sqlite+aiosqlite:///{(data_dir / 'botperms.db').resolve()}",
        token_keys=values["token_key"],
        login_flow=login_flow,
        # A dead-lettered event shows in the simulator: the author sees it without the logs.
        failure_notice=True,
        _env_file=None,  # the demo ignores a .env meant for production
    )


def fakebook_config(
    settings: Settings, fakebook_url: str, page_name: str = "Likes Bot"
) -> dict[str, object]:
    return {
        "app_id": settings.app_id,
        "app_secret": settings.app_secret.get_secret_value(),
        "app_name": f"{page_name} (demo)",
        "page_id": settings.page_id,
        "page_name": page_name,
        "page_token": settings.page_token.get_secret_value(),
        "webhook_url": settings.url("/webhook"),
        "verify_token": settings.verify_token.get_secret_value(),
        "valid_redirect_uris": [settings.url(CALLBACK_PATH)],
        "public_url": fakebook_url,
        # The App Dashboard's two callbacks, as a page owner sets them (README checklist).
        "deauthorize_callback_url": settings.url(DEAUTHORIZE_PATH),
        "data_deletion_callback_url": settings.url(DATA_DELETION_PATH),
    }


def write_env_file(settings: Settings, path: Path) -> None:
    """The demo's settings as ``BOTPERMS_*`` lines, so other commands (``botperms profile``,
    ``botperms serve``) can run against the demo: ``set -a; . data/demo/demo.env; set +a``."""
    values = {
        "APP_ID": settings.app_id,
        "APP_SECRET": settings.app_secret.get_secret_value(),
        "VERIFY_TOKEN": settings.verify_token.get_secret_value(),
        "PAGE_ID": settings.page_id,
        "PAGE_TOKEN": settings.page_token.get_secret_value(),
        "PUBLIC_URL": settings.public_url,
        "GRAPH_URL": settings.graph_url,
        "WWW_URL": settings.www_url,
        "M_ME_URL": settings.m_me_url,
        "EXTENSIONS_SDK_URL": settings.extensions_sdk_url,
        "DATABASE_URL": settings.database_url,
        "TOKEN_KEYS": ",".join(key.get_secret_value() for key in settings.token_keys),
        "LOGIN_FLOW": settings.login_flow.value,
    }
    lines = [f"BOTPERMS_{name}={shlex.quote(value)}" for name, value in values.items()]
    path.write_text("# botperms demo settings (demo secrets only)\n" + "\n".join(lines) + "\n")
    path.chmod(0o600)


def bot_settings(
    port: int, fakebook_port: int, folder: Path, login_flow: LoginFlow = LoginFlow.WEB
) -> Settings:
    """The bot's settings for the demo in ``folder`` (the same in every process of one demo)."""
    fakebook_url = f"http://127.0.0.1:{fakebook_port}"
    return demo_settings(port, fakebook_url, folder, _demo_secrets(folder), login_flow)


def prepare(
    port: int,
    fakebook_port: int,
    data_dir: str,
    login_flow: LoginFlow = LoginFlow.WEB,
    page_name: str = "Likes Bot",
) -> tuple[Settings, Path]:
    """Demo secrets, bot settings, fakebook's config file and ``demo.env`` in ``data_dir``."""
    check_free(port, "--port")
    check_free(fakebook_port, "--fakebook-port")
    folder = Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    settings = bot_settings(port, fakebook_port, folder, login_flow)
    config_path = folder / "fakebook.json"
    config = fakebook_config(settings, settings.graph_url, page_name)
    config_path.write_text(json.dumps(config, indent=2))
    config_path.chmod(0o600)
    write_env_file(settings, folder / "demo.env")
    return settings, config_path


EXAMPLE_PROFILE = Path(__file__).parents[1] / "examples" / "messenger_profile.toml"
