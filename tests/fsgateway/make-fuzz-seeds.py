#!/usr/bin/env python3
"""Write seed inputs for fuzz_fsgw: byte 0 = session state (1 = after INIT),
then a stream of FUSE requests as a guest kernel would send them."""
import os, struct, sys

out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/fsgw"
os.makedirs(out, exist_ok=True)
uniq = [0]

def msg(op, body, nodeid=1):
    uniq[0] += 2
    return struct.pack("<IIQQIIIHH", 40 + len(body), op, uniq[0], nodeid, 0, 0, 1, 0, 0) + body

def name(*n):
    return b"".join(x + b"\0" for x in n)

INIT = msg(26, struct.pack("<IIII", 7, 38, 131072, 1 << 30 | 1) + struct.pack("<I", 0) + b"\0" * 44)
seeds = {
    "init": (0, INIT),
    "init_old": (0, msg(26, struct.pack("<IIII", 7, 8, 0, 0))),
    "lookup": (1, msg(1, name(b"file"))),
    "lookup_dotdot": (1, msg(1, name(b".."))),
    "lookup_slash": (1, msg(1, name(b"a/b"))),
    "getattr": (1, msg(3, struct.pack("<IIQ", 0, 0, 0))),
    "setattr": (1, msg(4, b"\0" * 88)),
    "symlink": (1, msg(6, name(b"l", b"/etc/shadow"))),
    "mknod": (1, msg(8, struct.pack("<IIII", 0o20644, 0x0103, 0o22, 0) + name(b"dev"))),
    "mkdir": (1, msg(9, struct.pack("<II", 0o755, 0o22) + name(b"d"))),
    "rename": (1, msg(12, struct.pack("<Q", 1) + name(b"a", b"b"))),
    "rename2": (1, msg(45, struct.pack("<QII", 1, 1, 0) + name(b"a", b"b"))),
    "link": (1, msg(13, struct.pack("<Q", 2) + name(b"h"))),
    "write": (1, msg(16, struct.pack("<QQIIQII", 1, 0, 5, 0, 0, 0, 0) + b"hello")),
    "write_lie": (1, msg(16, struct.pack("<QQIIQII", 1, 0, 50000, 0, 0, 0, 0) + b"hello")),
    "read": (1, msg(15, struct.pack("<QQIIQII", 1, 0, 4096, 0, 0, 0, 0))),
    "setxattr": (1, msg(21, struct.pack("<II", 3, 0) + name(b"user.x") + b"abc")),
    "getxattr": (1, msg(22, struct.pack("<II", 64, 0) + name(b"trusted.x"))),
    "batch_forget": (1, msg(42, struct.pack("<II", 2, 0) + struct.pack("<QQQQ", 2, 1, 3, 1))),
    "forget": (1, msg(2, struct.pack("<Q", 1))),
    "ioctl": (1, msg(39, b"\0" * 32)),
    "second_init": (1, INIT),
    "create": (1, msg(35, struct.pack("<IIII", 0o100644, 0o22, 0, 0) + name(b"new"))),
    "stream": (0, INIT + msg(1, name(b"a")) + msg(14, struct.pack("<II", 0, 0), 2)
               + msg(16, struct.pack("<QQIIQII", 1, 0, 3, 0, 0, 0, 0) + b"xyz", 2) + msg(18, b"\0" * 24, 2)),
    "huge_len": (1, struct.pack("<I", 0xFFFFFFFF) + b"\0" * 36),
}
for k, (state, data) in seeds.items():
    with open(os.path.join(out, k), "wb") as f:
        f.write(bytes([state]) + data)
