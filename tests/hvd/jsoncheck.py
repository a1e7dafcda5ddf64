#!/usr/bin/env python3
"""jsoncheck.py KIND < JSON: check one document of hvctl --json against the
schema docs/hvctl-json.md promises (names and types); print what is wrong,
exit 1 if anything is. KIND: vms, metrics, status, images, catalogue."""
import json
import sys

NUM = (int, float)
VM = {"job": str, "user": str, "uid": int, "image": str, "state": str, "virt": str,
      "age_s": int, "cpus": int, "mem_mb": int, "cpu_seconds": (NUM, type(None)), "phases_s": dict}
HOST = {"vms": int, "max_vms": int, "drained": bool, "drain_reason": (str, type(None)),
        "memory_mb": int, "memory_reserve_mb": int, "vm_memory_mb": int,
        "virt": (str, type(None)), "virt_reason": (str, type(None))}
STATUS = {"job": str, "uid": int, "gid": int, "image": str, "created": str, "virt": str,
          "cpus": int, "mem_mb": int, "domain": str, "state": str, "age": int,
          "run_dir": str, "disk_dir": str}
FILE = {"sha256": str, "state": str, "size_bytes": int, "last_use": (int, type(None)),
        "used_by": list, "names": list}
IMAGE = {"name": str, "init": str, "cached": bool}

bad = []


def fields(obj, want, where):
    if not isinstance(obj, dict):
        bad.append(f"{where}: not an object")
        return
    for k, t in want.items():
        types = t if isinstance(t, tuple) else (t,)
        flat = tuple(x for tt in types for x in (tt if isinstance(tt, tuple) else (tt,)))
        if k not in obj:
            bad.append(f"{where}: no field {k}")
        elif isinstance(obj[k], bool) and bool not in flat:
            bad.append(f"{where}.{k}: a boolean, want {flat}")
        elif not isinstance(obj[k], flat):
            bad.append(f"{where}.{k}: {type(obj[k]).__name__}, want {flat}")


def vms(doc):
    fields(doc.get("host"), HOST, "host")
    if not isinstance(doc.get("vms"), list):
        bad.append("vms: not an array")
        return
    for i, v in enumerate(doc["vms"]):
        fields(v, VM, f"vms[{i}]")
        for p in ("image", "scratch", "domain", "agent"):
            x = v.get("phases_s", {}).get(p, "missing")
            if x == "missing" or not (x is None or isinstance(x, NUM)):
                bad.append(f"vms[{i}].phases_s.{p}: {x!r}")


kind = sys.argv[1]
try:
    doc = json.load(sys.stdin)
except ValueError as e:
    print(f"not JSON: {e}")
    sys.exit(1)
if kind == "vms":
    vms(doc)
elif kind == "metrics":
    if doc.get("hvd_up") is not True:
        bad.append("hvd_up is not true")
    vms(doc)
elif kind == "status":
    fields(doc, STATUS, "status")
elif kind == "images":
    fields(doc, {"total_bytes": int, "limit_mb": int, "files": list}, "images")
    for i, f in enumerate(doc.get("files", [])):
        fields(f, FILE, f"files[{i}]")
elif kind == "catalogue":
    for i, im in enumerate(doc.get("images", [])):
        fields(im, IMAGE, f"images[{i}]")
    if not doc.get("images"):
        bad.append("no images")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
