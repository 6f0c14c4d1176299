"""``botperms profile`` help (the commands themselves run against fakebook in tests/e2e)."""

from __future__ import annotations

from typer.testing import CliRunner

from botperms.cli import app

runner = CliRunner()


def test_help_lists_profile_and_new() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "profile" in result.output
    assert "new" in result.output


def test_profile_help_explains_the_file_and_exit_codes() -> None:
    result = runner.invoke(app, ["profile", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for text in ("show", "diff", "apply", "reset", "messenger_profile.toml", "Exit codes"):
        assert text in result.output
    apply = runner.invoke(app, ["profile", "apply", "--help"], env={"COLUMNS": "200"})
    for option in ("--file", "--prune", "--dry-run", "Get Started before the persistent"):
        assert option in apply.output
