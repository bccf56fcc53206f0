"""The top entries of a py-spy raw profile (``py-spy record --format raw``): functions by total
time (the share of samples they are on the stack) and by own time, plus own time by package.

    .venv/bin/python bench/pyspy_top.py var/profile/on/worker.txt [--top 15]

py-spy samples only threads that are running (not idle waits on sockets): these are shares of
the CPU the process used, not of wall time.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")
PACKAGES = ("django/db", "django", "rest_framework", "psycopg", "httpx", "httpcore",
            "celery", "kombu", "billiard", "redis", "json", "cryptography", "standardwebhooks",
            "gunicorn", "fiscal", "webhooks", "storage", "tenants", "core", "config", "bench")


def frame_name(frame: str) -> str:
    """'func (path/to/file.py:12)' -> 'func (short/file.py)': lines of one function merged."""
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match["file"]
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif "/lib/python3" in path:
        path = "stdlib/" + path.split("/lib/python3", 1)[1].split("/", 1)[1]
    else:
        path = re.sub(r"^.*?/(fiscal|webhooks|storage|tenants|core|config|sandbox|bench)/",
                      r"\1/", path)
    return f"{match['func']} ({path})"


def package(name: str) -> str:
    path = name.rsplit("(", 1)[-1]
    for pkg in PACKAGES:
        if path.startswith(pkg + "/") or path.startswith(pkg + ".") or path == pkg + ")":
            return pkg
    return "stdlib" if path.startswith("stdlib/") else "other"


def load(path: Path) -> tuple[Counter[str], Counter[str], Counter[str], int]:
    total: Counter[str] = Counter()
    own: Counter[str] = Counter()
    by_pkg: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [frame_name(f) for f in stack.split(";")
                  if f and not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        samples += n
        for name in set(frames):
            total[name] += n
        own[frames[-1]] += n
        by_pkg[package(frames[-1])] += n
    return total, own, by_pkg, samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    total, own, by_pkg, samples = load(args.profile)
    print(f"{args.profile}: {samples} samples (100 Hz: {samples / 100:.1f} CPU-seconds)")
    print(f"\ntop {args.top} by total time (project code):")
    project = [(k, v) for k, v in total.most_common()
               if package(k) in {"fiscal", "webhooks", "storage", "tenants", "core", "config"}]
    for name, n in project[: args.top]:
        print(f"  {100 * n / samples:5.1f}%  {name}")
    print(f"\ntop {args.top} by total time (libraries, without the framework's plumbing):")
    plumbing = {"billiard", "celery", "gunicorn", "fiscal", "webhooks", "storage", "tenants",
                "core", "config", "bench", "other"}
    shown = 0
    for name, n in total.most_common():
        if shown >= args.top:
            break
        if package(name) in plumbing or "Middleware" in name or "(stdlib/" in name \
                or name.startswith(("BaseHandler", "APIView.dispatch", "WSGIHandler")):
            continue
        print(f"  {100 * n / samples:5.1f}%  {name}")
        shown += 1
    print(f"\ntop {args.top} by own time:")
    for name, n in own.most_common(args.top):
        print(f"  {100 * n / samples:5.1f}%  {name}")
    print("\nown time by package:")
    for name, n in by_pkg.most_common():
        print(f"  {100 * n / samples:5.1f}%  {name}")


if __name__ == "__main__":
    main()
