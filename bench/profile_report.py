"""Sum py-spy's collapsed stacks (`bench/peers.py --profile`) by function: where each process spends its time.

    .venv/bin/python bench/profile_report.py /tmp/flowline-peers-<stamp>/embedded-c32-*.txt [--top 40] [--ours]

py-spy samples wall time of each thread that is not idle in the kernel's eyes, so a thread sleeping in
SQLite's busy handler or waiting on a socket still counts: read the figures as "where the time goes",
and the CPU ms/run of bench/peers.py as "what it costs". `--ours` keeps only frames of automations/,
connectors/, django-q2 and the database layer (the rest is the interpreter and libraries).
"""
from __future__ import annotations

import argparse
import re
from collections import Counter

OURS = re.compile(r"\((automations|connectors|django_q|django/db/backends|django/core/handlers)/")


def summarize(path: str, ours: bool) -> tuple[int, Counter, Counter]:
    inclusive, own, total = Counter(), Counter(), 0
    with open(path) as f:
        for line in f:
            stack, _, n = line.rstrip().rpartition(" ")
            if not n.isdigit():
                continue
            total += int(n)
            frames = stack.split(";")
            for frame in set(frames):
                if not ours or OURS.search(frame):
                    inclusive[frame] += int(n)
            own[frames[-1]] += int(n)
    return total, inclusive, own


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--ours", action="store_true")
    args = ap.parse_args()
    for path in args.files:
        total, inclusive, own = summarize(path, args.ours)
        if not total:
            continue
        print(f"== {path}: {total} samples\n-- inclusive")
        for frame, n in inclusive.most_common(args.top):
            print(f"{100 * n / total:5.1f}%  {frame}")
        print("-- own (the innermost frame)")
        for frame, n in own.most_common(args.top // 2):
            print(f"{100 * n / total:5.1f}%  {frame}")


if __name__ == "__main__":
    main()
