#!/usr/bin/env bash
# Stop the daemons .ci/slurm/start.sh started (by PID from their pidfiles), after
# cancelling what is left in the queue. --purge also deletes state, database and logs.
set -uo pipefail

BASE=${DEEPRULES_SLURM_DIR:-/tmp/deeprules-slurm}
RUN=$BASE/run
export SLURM_CONF=$BASE/slurm.conf
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
rc=0

alive() { # alive PIDFILE COMM
  local p
  [ -s "$1" ] || return 1
  p=$(cat "$1")
  [ -d "/proc/$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ]
}
stop() { # stop PIDFILE COMM
  local pf=$1 comm=$2 p i
  if ! alive "$pf" "$comm"; then rm -f "$pf"; return 0; fi
  p=$(cat "$pf")
  kill -TERM "$p" 2>/dev/null
  for i in $(seq 1 150); do [ -d "/proc/$p" ] || break; sleep 0.2; done
  if [ -d "/proc/$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$comm" ]; then
    echo "slurm/stop.sh: $comm (pid $p) ignored SIGTERM for 30s, sending SIGKILL" >&2
    kill -KILL "$p" 2>/dev/null
    sleep 0.5
  fi
  if [ -d "/proc/$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$comm" ]; then
    echo "slurm/stop.sh: could not stop $comm (pid $p)" >&2
    rc=1
  else
    echo "slurm/stop.sh: stopped $comm"
    rm -f "$pf"
  fi
}

if alive "$RUN/slurmctld.pid" slurmctld; then
  jobs=$(squeue -h -o %A 2>/dev/null | sort -u)
  if [ -n "$jobs" ]; then
    scancel $jobs 2>/dev/null
    for i in $(seq 1 100); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
  fi
fi

stop "$RUN/slurmd.pid" slurmd
stop "$RUN/slurmctld.pid" slurmctld
stop "$RUN/slurmdbd.pid" slurmdbd
stop "$RUN/mysqld.pid" mariadbd
stop "$RUN/munged.pid" munged # only present if start.sh started munged

if [ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$SLURM_CONF" ]; then rm -f /etc/slurm/slurm.conf; fi
if [ "${1:-}" = "--purge" ]; then
  rm -rf "$BASE/state" "$BASE/mysql" "$BASE/log" "$RUN" "$BASE/slurm.conf" "$BASE/slurmdbd.conf" "$BASE/env.sh"
  echo "slurm/stop.sh: purged $BASE"
fi
exit $rc
