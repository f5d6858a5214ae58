"""`make bench`: run every benchmark under bench/ (files named *_bench.py) in turn."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

failed = []
for script in sorted(Path(__file__).parent.glob("*_bench.py")):
    print(f"\n=== {script.stem} ===", flush=True)
    if subprocess.run([sys.executable, str(script)], check=False).returncode != 0:
        failed.append(script.name)
if failed:
    sys.exit(f"failed: {', '.join(failed)}")
