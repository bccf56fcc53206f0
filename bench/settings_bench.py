"""Settings of benchmark runs: the application's, plus the counters of bench/probe.py.

The benchmark stack sets DJANGO_SETTINGS_MODULE=bench.settings_bench and PYTHONPATH to the
repository root; the probe does nothing unless FG_BENCH_SQL_COUNT_DIR is set.
"""

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.probe.ProbeConfig"]
