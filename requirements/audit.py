"""Audit the locked dependencies for published vulnerabilities with pip-audit, where it can.

Usage: python requirements/audit.py [requirements/dev.lock ...]

pip-audit reads the pins (and hashes) of each lock, installs nothing, and asks an advisory service
about each `name==version`: PyPI's per-release JSON first (its vulnerabilities are the Python
advisory database's, through OSV), OSV's API second. Outcomes:

- a pin with a known vulnerability: the list, exit 1;
- every pin audited, none vulnerable: one line, exit 0;
- no service answered (a connection error, a time-out, or every pin "not found", which is what a
  network without that API returns; pip-audit itself reports that as "No known vulnerabilities"):
  one line saying that the audit was SKIPPED, exit 0 — a missing network never fails CI — or
  exit 1 when AUDIT_REQUIRE_ADVISORIES=1 (set it where the service must be reachable);
- some pins audited, others not: the list of those not audited, exit 1.

Vulnerabilities to accept for now: AUDIT_IGNORE_VULNS="GHSA-xxxx PYSEC-yyyy" (space-separated).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("pypi", "osv")
TIMEOUT_S = 600


def run_pip_audit(locks: list[str], service: str) -> tuple[dict | None, str]:
    """pip-audit's JSON report, or None and why there is none."""
    command = [sys.executable, "-m", "pip_audit", "--disable-pip", "--require-hashes"]
    for lock in locks:
        command += ["-r", lock]
    command += ["-s", service, "-f", "json", "--progress-spinner", "off", "--timeout", "15"]
    for vuln in os.environ.get("AUDIT_IGNORE_VULNS", "").split():
        command += ["--ignore-vuln", vuln]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, f"{service}: no answer in {TIMEOUT_S} s"
    try:
        return json.loads(done.stdout), ""
    except json.JSONDecodeError:
        lines = (done.stderr.strip() or f"exit {done.returncode}, no report").splitlines()
        last = lines[-1] if len(lines[-1]) <= 120 else lines[-1][:119] + "…"
        return None, f"{service}: {last}"


def judge(report: dict) -> tuple[str, list[str]]:
    """'vulnerable', 'clean', 'unreachable' or 'partial', with the lines to print."""
    deps = report.get("dependencies", [])
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if d.get("skip_reason")]
    if vulnerable:
        lines = []
        for dep in vulnerable:
            for vuln in dep["vulns"]:
                fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
                lines.append(f"{dep['name']}=={dep['version']}: {vuln['id']} (fixed in: {fixes})")
        return "vulnerable", lines
    if deps and len(skipped) == len(deps):
        return "unreachable", [skipped[0]["skip_reason"]]
    if skipped:
        return "partial", [f"{d['name']}: {d['skip_reason']}" for d in skipped]
    return "clean", []


def main(argv: list[str]) -> int:
    locks = argv[1:] or [str(ROOT / "requirements" / "dev.lock")]
    why_not = []
    for service in SERVICES:
        report, error = run_pip_audit(locks, service)
        if report is None:
            why_not.append(error)
            continue
        verdict, lines = judge(report)
        if verdict == "unreachable":
            why_not.append(f"{service}: {lines[0]}")
            continue
        count = len(report["dependencies"])
        if verdict == "clean":
            print(f"Dependency audit ({service}): {count} pins, no known vulnerabilities.")
            return 0
        if verdict == "vulnerable":
            print(f"Dependency audit ({service}): known vulnerabilities:", file=sys.stderr)
        else:
            print(f"Dependency audit ({service}): these pins were not audited:", file=sys.stderr)
        for line in lines:
            print(f"  {line}", file=sys.stderr)
        return 1
    notice = "; ".join(why_not)
    if os.environ.get("AUDIT_REQUIRE_ADVISORIES") == "1":
        print(f"Dependency audit FAILED: no advisory service reachable ({notice})", file=sys.stderr)
        return 1
    print(f"Dependency audit SKIPPED: no advisory service reachable from here ({notice})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
