"""Record a CU stream's progress events and show where time went (see ``aocu trace --help``).

    python tools/trace.py record ws://127.0.0.1:6363/progress/<pid> -o trace.jsonl --seconds 60
    python tools/trace.py show trace.jsonl --svg timeline.svg
"""

from __future__ import annotations

import sys

from aocu.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["trace", *sys.argv[1:]]))
