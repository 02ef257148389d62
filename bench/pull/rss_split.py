#!/usr/bin/env python3
"""Runs a command and samples /proc/<pid>/status every 2 ms until it exits, to split its resident memory
into anonymous pages (heap, buffers: what the work costs) and file-backed pages (the executable and shared
libraries it maps). Prints one line: `rss_anon_kib=N rss_file_kib=N vm_hwm_kib=N samples=N status=N`.
Sampling misses peaks shorter than a sample interval and costs some CPU, so the benchmark uses it in
separate, untimed runs.

    python3 bench/pull/rss_split.py [--deadline 600] -- COMMAND [ARG...]
"""
import argparse
import subprocess
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--deadline", type=float, default=600)
    p.add_argument("command", nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not cmd:
        p.error("no command")
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = {"RssAnon": 0, "RssFile": 0, "VmHWM": 0}
    samples = 0
    end = time.monotonic() + a.deadline
    while child.poll() is None:
        if time.monotonic() > end:
            child.kill()
            child.wait()
            print(f"rss_split: {cmd[0]} ran past {a.deadline} s", file=sys.stderr)
            return 1
        try:
            with open(f"/proc/{child.pid}/status") as f:
                for line in f:
                    key = line.split(":", 1)[0]
                    if key in peak:
                        peak[key] = max(peak[key], int(line.split()[1]))
            samples += 1
        except (OSError, ValueError, IndexError):
            pass
        time.sleep(0.002)
    print(f"rss_anon_kib={peak['RssAnon']} rss_file_kib={peak['RssFile']} vm_hwm_kib={peak['VmHWM']} "
          f"samples={samples} status={child.returncode}")
    return 0 if child.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
