#!/usr/bin/env python3
"""Drive an interactive command through a real pty like a person would:
wait for a prompt, type commands, read the answers, exit. Prints the transcript."""
import os, pty, select, sys, time

def main():
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.argv[1], sys.argv[1:])
    out = b""
    def read_for(secs, until=None):
        nonlocal out
        end = time.time() + secs
        while time.time() < end:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    return False
                if not data:
                    return False
                out += data
                if until and until in out:
                    return True
        return False
    read_for(120, b"$ ")   # the guest shell's prompt
    os.write(fd, b"echo ANSWER=$((6*7)); echo TTY=$(tty); echo HOST=$(hostname)\n")
    read_for(30, b"HOST=vmjob")
    read_for(2)
    os.write(fd, b"exit\n")
    read_for(30)
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace"))
    print(f"\n[exit status {os.waitstatus_to_exitcode(status)}]")

main()
