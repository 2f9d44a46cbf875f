"""Turns a py-spy "raw" (collapsed stacks) profile into a text summary for docs/perf/.

    py-spy record -f raw -r 250 -o profile.txt -- python -m tests.profile_targets ingest sqlite
    python tools/profile_summary.py profile.txt --root Ingestor._loop > docs/perf/NAME.txt

Only stacks through the frame named by --root count (the worker's thread, say); frames are
merged across line numbers. Prints each function's share of those samples, inclusive of what
it calls and on its own. Standard library only.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

LINE = re.compile(r":\d+\)")


def summarise(path: Path, root: str, top: int) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [LINE.sub(")", frame) for frame in stack.split(";")]
        starts = [i for i, frame in enumerate(frames) if frame.startswith(root + " ")]
        if not starts or not count.isdigit():
            continue
        frames, samples = frames[starts[0]:], int(count)
        total += samples
        for frame in set(frames):
            inclusive[frame] += samples
        own[frames[-1]] += samples
    if not total:
        return f"no samples through {root}\n"
    rows = [f"{total} samples through {root}", "",
            f"{'inclusive':>9} {'own':>6}  function (file)"]
    for frame, samples in inclusive.most_common(top):
        rows.append(f"{100 * samples / total:8.1f}% {100 * own[frame] / total:5.1f}%  {frame}")
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--root", required=True, help="count stacks through this function")
    parser.add_argument("--top", type=int, default=45)
    args = parser.parse_args()
    print(summarise(args.profile, args.root, args.top), end="")


if __name__ == "__main__":
    main()
