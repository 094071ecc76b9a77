"""Every command and option of ``otp`` says what it is for."""

from __future__ import annotations

from collections.abc import Iterator

import click

from entrypoints.cli import main


def _commands(group: click.Group, path: str = "otp") -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        yield f"{path} {name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{path} {name}")


def test_every_command_and_option_has_help() -> None:
    missing = []
    for path, command in _commands(main):
        if not command.help:
            missing.append(path)
        missing += [
            f"{path} {option.opts[0]}"
            for option in command.params
            if isinstance(option, click.Option) and not option.hidden and not option.help
        ]
    assert missing == []
