#!/usr/bin/env python3
"""messages.py [--check GUIDE]: the error messages hvd and the SPANK plugin
can print, read from their sources: the format string of every vj_err_set,
vj_err_sys, hv_reply_err, slurm_error and slurm_info call in hvd/,
spank-plugin/ and client/ (adjacent literals joined, tests left out).

Without --check: one message per line, as FILE:LINE: FORMAT.
With --check GUIDE: every message must appear in GUIDE's troubleshooting
section, matched by its longest fixed part (the text between printf
conversions); messages whose fixed parts are all shorter than 8 characters
(a bare "socket: %s") are the context of another message and are skipped.
Prints each message missing, exits 1 if any is."""
import os
import re
import sys

CALLS = r"\b(vj_err_set|vj_err_sys|hv_reply_err|slurm_error|slurm_info)\s*\("
LIT = r'"((?:[^"\\\n]|\\.)*)"'
CONV = re.compile(r"%[-+ #0]*(\*|\d+)?(\.(\*|\d+))?(hh|h|ll|l|z|j|t)?[diouxXscpfgeE%]|%\.\*s|%m")


def messages(top):
    out = []
    for d in ("hvd", "spank-plugin", "client"):
        for root, _, files in os.walk(os.path.join(top, d)):
            for f in sorted(files):
                if not f.endswith(".c") or f.startswith("test_"):
                    continue
                path = os.path.join(root, f)
                src = open(path, encoding="utf-8").read()
                for m in re.finditer(CALLS, src):
                    # the first string literal(s) of the call, before its ')'
                    rest = src[m.end():m.end() + 2000]
                    depth, i, lits, started = 1, 0, [], False
                    while i < len(rest) and depth:
                        c = rest[i]
                        if c == '"':
                            lm = re.match(LIT, rest[i:])
                            lits.append(lm.group(1))
                            i += lm.end()
                            started = True
                            continue
                        if started and c not in " \t\n":
                            break
                        if c == "(":
                            depth += 1
                        elif c == ")":
                            depth -= 1
                        i += 1
                    if lits:
                        line = src.count("\n", 0, m.start()) + 1
                        out.append((os.path.relpath(path, top), line, "".join(lits)))
    return out


def key(fmt):
    text = fmt.replace('\\"', '"').replace("\\n", " ").replace("\\\\", "\\")
    parts = [p.strip(" :;,.()'") for p in CONV.split(text) if p]
    parts = [p for p in parts if p and not re.fullmatch(r"[\d*.hlzjt]*", p)]
    return max(parts, key=len) if parts else ""


def main():
    top = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    msgs = messages(top)
    if len(sys.argv) < 3 or sys.argv[1] != "--check":
        for f, l, m in msgs:
            print(f"{f}:{l}: {m}")
        return 0
    guide = open(sys.argv[2], encoding="utf-8").read()
    at = guide.find("## Troubleshooting")
    table = guide[at:] if at >= 0 else ""
    missing, checked = [], 0
    for f, l, m in msgs:
        k = key(m)
        if len(k) < 8:
            continue
        checked += 1
        if k not in table:
            missing.append(f"{f}:{l}: {m}   [looked for: {k}]")
    for x in missing:
        print("  missing:", x)
    print(f"  {checked} messages checked, {len(missing)} missing from the troubleshooting section")
    return 1 if missing else 0


sys.exit(main())
