#!/usr/bin/env python3
# Lists pairs of places in Sources (*.swift, *.c, *.h) that share six or more consecutive lines, to
# find copies worth merging and to count them before and after a tidy:
#   scripts/repeated-blocks.py [--exact] [--min N] [repository root, default .]
# Lines are compared with whitespace stripped; blank lines, comments and lines of only brackets are
# skipped (they neither count nor break a run). By default string and number literals are blanked, so
# two blocks that differ only in messages or constants count ("same shape"); --exact compares as written.
# A pair is two maximal runs of matching lines at different places (overlapping runs in one file are not).
import collections, re, subprocess, sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
exact = "--exact" in sys.argv
minimum = int(sys.argv[sys.argv.index("--min") + 1]) if "--min" in sys.argv else 6
if "--min" in sys.argv: args.remove(str(minimum))
root = args[0] if args else "."

def normalised(line):
    s = line.strip()
    if not s or s.startswith(("//", "/*", "*")): return None
    s = re.sub(r"\s+//.*$", "", s)
    if re.fullmatch(r"[\s{}()\[\];,]*", s): return None
    if not exact:
        s = re.sub(r'"(\\.|[^"\\])*"', '"S"', s)
        s = re.sub(r"\b\d[\w.]*\b", "N", s)
    return s

files = [f for f in subprocess.check_output(["git", "-C", root, "ls-files", "Sources"], text=True).split()
         if f.endswith((".swift", ".c", ".h"))]
seqs = []
for f in files:
    with open(f"{root}/{f}", encoding="utf-8", errors="replace") as h:
        lines = [(normalised(l), n + 1) for n, l in enumerate(h.read().split("\n"))]
    seqs.append((f, [(s, n) for s, n in lines if s is not None]))

windows = collections.defaultdict(list)
for fi, (_, seq) in enumerate(seqs):
    for i in range(len(seq) - minimum + 1):
        windows[tuple(s for s, _ in seq[i:i + minimum])].append((fi, i))

pairs = {}
for places in windows.values():
    if len(places) < 2 or len(places) > 20: continue      # a boilerplate line run everywhere is not a copy
    for a in range(len(places)):
        for b in range(a + 1, len(places)):
            (fa, ia), (fb, ib) = places[a], places[b]
            if fa == fb and abs(ia - ib) < minimum: continue
            sa, sb = seqs[fa][1], seqs[fb][1]
            while ia > 0 and ib > 0 and sa[ia - 1][0] == sb[ib - 1][0] and not (fa == fb and abs(ia - ib) < minimum):
                ia -= 1; ib -= 1
            ea, eb = ia, ib
            while ea < len(sa) and eb < len(sb) and sa[ea][0] == sb[eb][0]: ea += 1; eb += 1
            pairs[(fa, ia, fb, ib)] = ea - ia

for (fa, ia, fb, ib), n in sorted(pairs.items(), key=lambda kv: (-kv[1], seqs[kv[0][0]][0], kv[0][1])):
    print(f"{n:3d} lines  {seqs[fa][0]}:{seqs[fa][1][ia][1]}  ~  {seqs[fb][0]}:{seqs[fb][1][ib][1]}")
print(f"{len(pairs)} pairs of places sharing {minimum}+ {'identical' if exact else 'same-shape'} lines")
