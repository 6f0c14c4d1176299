"""``botperms.testing`` stands alone: it never imports fakebook, in its source or at run time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import botperms.testing

PACKAGE = Path(botperms.testing.__file__).parent


def test_no_module_of_botperms_testing_imports_fakebook() -> None:
    files = sorted(PACKAGE.glob("*.py"))
    assert len(files) >= 5  # the glob found the package's modules
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(name.split(".")[0] == "fakebook" for name in names), path.name


def test_importing_and_using_it_loads_no_fakebook_module() -> None:
    # A fresh interpreter: whatever this test session imported does not count.
    code = (
        "import asyncio, sys\n"
        "from botperms import Bot\n"
        "from botperms.testing import ChatTester\n"
        "bot = Bot()\n"
        "@bot.on_message\n"
        "async def echo(ctx):\n"
        "    await ctx.reply(ctx.text or '')\n"
        "async def main():\n"
        "    async with ChatTester(bot) as chat:\n"
        "        assert (await chat.say('ping')).text == 'ping'\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'fakebook'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
