"""How long one request's authentication takes: cold (a fresh key: argon2, PostgreSQL, cache
fill) and warm (the same key again), each beside /healthz on the same connection.

The auth scenarios of the benchmark harness alone (`make bench` runs them with the rest):
    .venv/bin/python bench/auth_timing.py
Settings as for bench/run.py (docs/benchmark.md), e.g. BENCH_COLD_KEYS=50 BENCH_WARM_REQUESTS=1000.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_SCENARIOS", "auth")

from run import main

if __name__ == "__main__":
    sys.exit(main())
