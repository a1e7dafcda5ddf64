#!/bin/bash
# A short run of tests/hvd/valgrind-cycles.sh (5 cycles) for make check;
# `make valgrind-hvd` runs the full 100.
exec "$(dirname "$0")/valgrind-cycles.sh" "${VMJOB_VALGRIND_CYCLES:-5}"
