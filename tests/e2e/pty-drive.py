#!/usr/bin/env python3
"""Drive an interactive command through a real pty like a person would:
wait for a prompt, type commands, read the answers, exit. Prints the transcript.
PTY_SCENARIO=ctrl-c: in the shell, start an srun step that sleeps, press
Ctrl-C twice within a second (srun's abort), then report srun's status and
whether the step's sleep still runs."""
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
    if os.environ.get("PTY_SCENARIO") == "ctrl-c":
        # (Markers are typed split by "", so the terminal's echo of the
        # command line does not match them.)
        os.write(fd, b"srun --overlap -n1 sh -c 'echo STEP-\"\"UP; exec sleep 300'; echo SRUN\"\"-RC=$?\n")
        up = read_for(120, b"STEP-UP\r\n")
        read_for(2)
        t0 = time.time()
        if up:
            os.write(fd, b"\x03")
            time.sleep(0.3)
            os.write(fd, b"\x03")
        ended = read_for(60, b"SRUN-RC=")
        read_for(1)
        print(f"[ctrl-c: step up {up}, srun ended {ended} after {time.time() - t0:.1f} s]")
        os.write(fd, b"sleep 3; echo LEF\"\"T=$(ps -ef | grep -c '[s]leep 300')\n")
        read_for(30, b"LEFT=")
        read_for(1)
    os.write(fd, b"exit\n")
    read_for(30)
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace"))
    print(f"\n[exit status {os.waitstatus_to_exitcode(status)}]")

main()
