"""Run the whole suite on SQLite and on PostgreSQL, browser tests included.

* PostgreSQL: ``YINGSHANG_TEST_POSTGRES`` (default ``postgres://postgres@127.0.0.1:5432/yingshang``);
  pytest-django creates and drops its own test databases on that server.
* Chromium: Debian's ``/usr/bin/chromium`` (installed with apt-get when missing and we are root).
* Under ``CI=true`` a missing PostgreSQL or Chromium is a failure; elsewhere the run says loudly,
  in its last lines, what it could not run.
Exit status is non-zero on any failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_URL = os.environ.get("YINGSHANG_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/yingshang")
CHROMIUM = os.environ.get("YINGSHANG_CHROMIUM", "/usr/bin/chromium")


def have_chromium() -> bool:
    if Path(CHROMIUM).exists():
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("== installing Debian's chromium (apt-get) ==", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium", "fonts-noto-cjk"], env=env, check=False)
    return Path(CHROMIUM).exists()


def have_postgres() -> tuple[bool, str]:
    try:
        import psycopg
    except ImportError as exc:
        return False, f"psycopg missing: {exc}"
    import dj_database_url

    cfg = dj_database_url.parse(PG_URL)
    try:
        with psycopg.connect(host=cfg["HOST"] or None, port=cfg["PORT"] or None, user=cfg["USER"] or None,
                             password=cfg["PASSWORD"] or None, dbname="postgres", connect_timeout=5):
            return True, ""
    except Exception as exc:  # noqa: BLE001
        return False, str(exc).strip().splitlines()[0]


def pytest(label: str, env_extra: dict[str, str], marker: str | None) -> int:
    env = {**os.environ, **env_extra, "YINGSHANG_TASKS": "immediate", "YINGSHANG_CHROMIUM": CHROMIUM}
    workers = os.environ.get("YINGSHANG_TEST_WORKERS", "2")
    cmd = [sys.executable, "-m", "pytest", "-n", workers, "--dist", "loadfile", "-p", "no:cacheprovider"]
    if marker:
        cmd += ["-m", marker]
    cmd += sys.argv[1:]
    print(f"\n== {label}: {' '.join(cmd[1:])} ==", flush=True)
    start = time.monotonic()
    rc = subprocess.run(cmd, cwd=ROOT, env=env).returncode
    print(f"== {label}: exit {rc} in {time.monotonic() - start:.0f}s ==", flush=True)
    return rc


def static_checks() -> int:
    """ruff, Django's system checks and a check that no model change lacks its migration."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "DATABASE_URL": "", "YINGSHANG_DATA_DIR": str(ROOT / "var" / "check")}
    rc = 0
    for cmd in (
        [str(bin_dir / "ruff"), "check", "src", "tests", "bench", "scripts"],
        [str(bin_dir / "yingshang"), "check", "--fail-level", "WARNING"],
        [str(bin_dir / "yingshang"), "makemigrations", "--check", "--dry-run"],
    ):
        print(f"== {Path(cmd[0]).name} {' '.join(cmd[1:])} ==", flush=True)
        rc |= subprocess.run(cmd, cwd=ROOT, env=env).returncode
    return rc


def main() -> int:
    missing: list[str] = []
    checks = static_checks()
    chromium = have_chromium()
    if not chromium:
        missing.append(f"Chromium not found at {CHROMIUM}: browser tests (-m browser) NOT RUN")
    pg_ok, pg_why = have_postgres()
    if not pg_ok:
        missing.append(f"PostgreSQL at {PG_URL} unreachable ({pg_why}): PostgreSQL run NOT RUN")
    marker = None if chromium else "not browser"
    results = {"SQLite": pytest("SQLite", {"DATABASE_URL": ""}, marker)}
    if pg_ok:
        results["PostgreSQL"] = pytest("PostgreSQL", {"DATABASE_URL": PG_URL}, marker)
    print("\n== summary ==")
    print(f"   static checks (ruff, check, makemigrations --check): {'passed' if checks == 0 else 'FAILED'}")
    for label, rc in results.items():
        print(f"   {label}: {'passed' if rc == 0 else f'FAILED (exit {rc})'}")
    failed = checks != 0 or any(rc != 0 for rc in results.values())
    if missing:
        print("\n" + "!" * 78)
        for m in missing:
            print(f"!! {m}")
        if CI:
            print("!! CI=true: a missing PostgreSQL or Chromium is a failure.")
        print("!" * 78)
        if CI:
            return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
