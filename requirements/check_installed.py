"""Check that the running environment holds exactly what a lock file pins.

Usage: python requirements/check_installed.py [requirements/dev.lock]

Every `name==version` line of the lock must be installed at that version, and nothing else may be
installed but the project itself (the name in pyproject.toml). Prints one line and exits 0, or
lists the differences and exits 1. Standard library only.
"""

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(lock: Path) -> dict[str, str]:
    pins = {}
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            pins[canonical(match[1])] = match[2]
    return pins


def installed_versions() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:  # a broken .dist-info has no name
            found.setdefault(canonical(name), set()).add(dist.version)
    return found


def differences(pins: dict[str, str], installed: dict[str, set[str]], project: str) -> list[str]:
    problems = []
    for name, version in sorted(pins.items()):
        got = installed.get(name)
        if not got:
            problems.append(f"missing: {name}=={version}")
        elif got != {version}:
            problems.append(f"{name}: the lock pins {version}, installed {', '.join(sorted(got))}")
    for name in sorted(set(installed) - set(pins) - {project}):
        problems.append(f"not in the lock: {name}=={', '.join(sorted(installed[name]))}")
    if project not in installed:
        problems.append(f"the project itself ({project}) is not installed")
    return problems


def main(argv: list[str]) -> int:
    lock = Path(argv[1]) if len(argv) > 1 else ROOT / "requirements" / "dev.lock"
    project = canonical(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"])
    pins = read_pins(lock)
    if not pins:
        print(f"{lock}: no pins found", file=sys.stderr)
        return 1
    problems = differences(pins, installed_versions(), project)
    if problems:
        print(f"The environment of {sys.executable} does not match {lock}:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        print("Rebuild it: rm -rf .venv && make install", file=sys.stderr)
        return 1
    print(f"Installed packages match {lock} exactly ({len(pins)} pins + {project}).")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
