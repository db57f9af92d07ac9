"""pyproject.toml and environment.yml must pin the same packages at the same versions."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _normalise(requirement: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(==|=)\s*([^\s;]+)\s*", requirement)
    assert match, f"not an exact pin: {requirement!r}"
    return match.group(1).lower().replace("_", "-"), match.group(3)


def _pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])
    return dict(_normalise(r) for r in requirements)


def _environment_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pins: dict[str, str] = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pins.update(_normalise(r) for r in dep["pip"])
        elif not dep.startswith(("python", "pip")):
            name, version = _normalise(dep)
            pins[name] = version
    return pins


def test_environment_yml_and_pyproject_pin_the_same_versions():
    assert _environment_pins() == _pyproject_pins()


def test_environment_python_matches_requires_python():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    assert python == "python=3.11" and ">=3.11" in requires


def test_lifelines_pandas_constraint_is_respected():
    # lifelines 0.30 needs pandas<3 (PITFALLS.md): the pin must honour it.
    pins = _pyproject_pins()
    assert int(pins["pandas"].split(".")[0]) < 3
