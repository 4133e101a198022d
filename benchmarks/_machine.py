"""What a benchmark ran on, recorded next to its numbers."""
from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path


def command_line() -> str:
    """The command that is running, as a user would type it from the repository root."""
    script = Path(sys.argv[0])
    try:
        script = script.resolve().relative_to(Path(__file__).resolve().parents[1])
    except ValueError:
        pass
    return " ".join(["python", str(script), *sys.argv[1:]])


def machine_info() -> dict:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "command": command_line(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "load_average_1min": os.getloadavg()[0],
    }


def merge_rows(path: Path, rows: list[dict], key, order) -> list[dict]:
    """The rows of the results file ``path`` (``{"rows": [...]}``, if it exists) updated by ``rows`` (a new row
    replaces an old one of the same ``key(row)``), sorted by ``order``; ``path`` is rewritten atomically."""
    import json

    from morphogen.utils.outputs import atomic_json

    old = json.loads(Path(path).read_text())["rows"] if Path(path).is_file() else []
    merged = {key(r): r for r in old}
    merged.update({key(r): r for r in rows})
    allrows = sorted(merged.values(), key=order)
    atomic_json(path, {"rows": allrows})
    return allrows
