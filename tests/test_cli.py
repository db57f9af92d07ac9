"""The command-line tool: every subcommand documents itself and user errors never show a traceback."""
from __future__ import annotations

import pytest

from alis_research.cli import HANDLERS, build_parser, main


@pytest.mark.parametrize("command", sorted(HANDLERS))
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: alis-research {command}")


def test_every_handler_resolves_to_a_function():
    import importlib

    for command, (module, function) in HANDLERS.items():
        assert callable(getattr(importlib.import_module(module), function)), command


def test_top_level_help_lists_all_commands(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    for command in HANDLERS:
        assert command in out


def test_missing_dataset_is_a_clean_error(tmp_path, capsys):
    status = main(["validate", str(tmp_path / "does-not-exist")])
    err = capsys.readouterr().err
    assert status == 1
    assert "does-not-exist" in err
    assert "Traceback" not in err
