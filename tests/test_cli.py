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


# --------------------------------------------------------------------------- start-up (issue 11)
HEAVY = {"matplotlib", "lifelines", "papermill", "statsmodels", "scipy", "nbformat", "jupyter_client"}
_LOADED = """
import sys
from alis_research.cli import main
try:
    status = main(sys.argv[1:])
except SystemExit as exit_:
    status = exit_.code
print(",".join(sorted({name.split(".")[0] for name in sys.modules})), file=sys.stderr)
sys.exit(status)
"""


def _modules_loaded(*argv: str) -> set[str]:
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", _LOADED, *argv], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return set(run.stderr.strip().splitlines()[-1].split(","))


@pytest.mark.parametrize("argv", [("--help",), ("validate", "synthetic"), ("roster",)])
def test_light_commands_import_no_heavy_library(argv):
    assert not _modules_loaded(*argv) & HEAVY


def test_import_alis_research_is_light_and_the_api_lazy():
    import subprocess
    import sys

    code = ("import sys, alis_research as ar; before = set(sys.modules); ar.kaplan_meier; "
            "print(sorted({m.split('.')[0] for m in before} & %r), 'scipy' in sys.modules)" % HEAVY)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.stdout.strip() == "[] True", run.stderr


def test_help_starts_in_under_half_a_second():
    import subprocess
    import sys
    import time

    seconds = []
    for _ in range(3):  # the fastest of three: robust to a busy machine
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "alis_research.cli", "--help"], capture_output=True, check=True)
        seconds.append(time.perf_counter() - started)
    assert min(seconds) < 0.5, seconds


def test_public_api_names_resolve():
    import alis_research as ar

    for name in ar.__all__:
        assert getattr(ar, name) is not None, name
    with pytest.raises(AttributeError):
        ar.no_such_name  # noqa: B018
