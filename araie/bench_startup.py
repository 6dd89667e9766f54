"""`make bench`'s start-up row: seconds from launching `araie predict` to its first output record.

Small jobs are dominated by start-up, not throughput. Each command runs in a fresh process, fed one
Arabic sentence on stdin, and is timed until its first line reaches stdout; the commands take turns,
so a busy machine skews them alike. Rows: the floor any torch + transformers command pays (`python
-c "import torch, transformers"`), `araie predict` without its start-up cuts (`ARAIE_NO_FAST_START=1`:
how it started before them) and `araie predict` as shipped.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SENTENCE = "قال المرصد السوري لحقوق الإنسان إن 12 مدنياً قتلوا في قصف على حلب"


def startup_commands(folder: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    predict = [sys.executable, "-m", "araie", "predict", "--model", str(folder), "--device", "cpu"]
    return {
        "import torch, transformers": ([sys.executable, "-c", "import torch, transformers; print('ok')"], {}),
        "araie predict, cuts off": (predict, {"ARAIE_NO_FAST_START": "1"}),
        "araie predict": (predict, {}),
    }


def time_to_first_line(command: list[str], env: dict[str, str]) -> float:
    """Wall seconds from launching `command` to the first line on its stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, encoding="utf-8", cwd=ROOT, env={**os.environ, **env})
    proc.stdin.write(SENTENCE + "\n")
    proc.stdin.close()
    line = proc.stdout.readline()
    seconds = time.perf_counter() - start
    proc.stdout.read()
    err = proc.stderr.read()
    proc.wait()
    if not line or proc.returncode:
        raise RuntimeError(f"{' '.join(command)} wrote no record (exit {proc.returncode}): {err[-500:]}")
    return seconds


def bench_startup(folder: Path, repeats: int = 5) -> dict:
    """Median and minimum time to first record of each start-up command, `repeats` turns each."""
    commands = startup_commands(folder)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, (command, env) in commands.items():
            times[name].append(time_to_first_line(command, env))
    rows = {name: {"median_s": statistics.median(t), "min_s": min(t), "runs": t} for name, t in times.items()}
    floor = rows["import torch, transformers"]["median_s"]
    for r in rows.values():
        r["vs_import_floor"] = r["median_s"] / floor
    before, after = rows["araie predict, cuts off"]["median_s"], rows["araie predict"]["median_s"]
    return {"model": str(folder), "repeats": repeats, "rows": rows, "cut_share": 1 - after / before}


def startup_markdown(startup: dict) -> list[str]:
    lines = ["## Start-up of predict", "",
             f"Seconds from launching the command to its first output line (one sentence on stdin, model "
             f"`{startup['model']}`, fresh processes taking turns, {startup['repeats']} each):", "",
             "| command | median s | min s | × import floor |", "|---|---:|---:|---:|"]
    lines += [f"| `{name}` | {r['median_s']:.2f} | {r['min_s']:.2f} | {r['vs_import_floor']:.2f} |"
              for name, r in startup["rows"].items()]
    lines += ["", f"The start-up cuts (`araie.predict.fast_start`) take {100 * startup['cut_share']:.0f} % off the "
              "time to the first record.", ""]
    return lines


if __name__ == "__main__":  # `python -m araie.bench_startup [MODEL] [REPEATS]`: this row alone
    report = bench_startup(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "model"),
                           int(sys.argv[2]) if len(sys.argv) > 2 else 5)
    sys.stdout.write("\n".join(startup_markdown(report)) + "\n")
