#!/usr/bin/env python3
"""Test HTTP server for the image cache tests: serves files from ROOT with
byte ranges, and misbehaves on request so hvd's resume paths can be seen.

  /PATH          the file, with Range support (206)
  /drop/PATH     the first GET of PATH sends DROP bytes, then closes the connection
  /stall/PATH    the first GET of PATH sends DROP bytes, then sends nothing more
                 (until the client goes away, or 120 s)
  /slow/PATH     the file at about RATE bytes/s (so concurrent requests overlap)
  /norange/PATH  like /drop/, and Range headers are ignored (always 200, whole file)

Every request is logged to LOG, one line: `GET /path range=<Range or -> status=N sent=N`,
written when the response ends. `stalled /path` is logged when a stall begins.
Usage: httpserv.py ROOT PORTFILE LOG [DROP] [RATE]; prints the port to PORTFILE.
"""
import http.server
import os
import re
import sys
import threading
import time

ROOT, PORTFILE, LOG = sys.argv[1], sys.argv[2], sys.argv[3]
DROP = int(sys.argv[4]) if len(sys.argv) > 4 else 1 << 20
RATE = int(sys.argv[5]) if len(sys.argv) > 5 else 4 << 20
lock = threading.Lock()
misbehaved = set()


def log(line):
    with lock, open(LOG, "a") as f:
        f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        mode = ""
        for m in ("drop", "stall", "slow", "norange"):
            if path.startswith("/" + m + "/"):
                mode, path = m, path[len(m) + 1:]
        rng = self.headers.get("Range")
        honour = mode != "norange"
        full = os.path.join(ROOT, path.lstrip("/"))
        if ".." in path or not os.path.isfile(full):
            self.send_error(404)
            log(f"GET {self.path} range={rng or '-'} status=404 sent=0")
            return
        size = os.path.getsize(full)
        start, status = 0, 200
        if rng and honour:
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng)
            if not m or int(m.group(1)) >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                log(f"GET {self.path} range={rng} status=416 sent=0")
                return
            start, status = int(m.group(1)), 206
        self.send_response(status)
        self.send_header("Content-Length", str(size - start))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.end_headers()
        first = False
        with lock:
            if mode in ("drop", "stall", "norange") and self.path not in misbehaved:
                misbehaved.add(self.path)
                first = True
        sent = 0
        with open(full, "rb") as f:
            f.seek(start)
            while True:
                chunk = f.read(65536)
                if first and sent + len(chunk) > DROP:
                    chunk = chunk[: DROP - sent]
                if chunk:
                    try:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                    except OSError:
                        break
                    sent += len(chunk)
                if mode == "slow":
                    time.sleep(len(chunk) / RATE)
                if first and sent >= DROP:
                    if mode == "stall":
                        log(f"stalled {self.path}")
                        end = time.time() + 120
                        while time.time() < end:
                            time.sleep(0.5)
                            try:  # notice a client that went away
                                self.connection.settimeout(0)
                                if self.connection.recv(1, 0x40) == b"":
                                    break
                            except BlockingIOError:
                                pass
                            except OSError:
                                break
                    self.close_connection = True
                    break
                if not chunk:
                    break
        log(f"GET {self.path} range={rng or '-'} status={status} sent={sent}")


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
