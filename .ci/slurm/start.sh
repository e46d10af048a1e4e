#!/usr/bin/env bash
# Bring up a real single-node SLURM cluster for deeprules' tests: munge, MariaDB (the
# accounting backend submitit needs to see cancelled and killed jobs), slurmdbd,
# slurmctld and slurmd from Debian's packages, all state under $DEEPRULES_SLURM_DIR.
# Idempotent: daemons already running (pidfile + /proc/PID/comm) are left alone.
# Exits 0 only when the node is idle and sacct answers; then:  source $DEEPRULES_SLURM_DIR/env.sh
# Adapted from the shared recipe (start_slurm.sh); the config lives beside this script.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BASE=${DEEPRULES_SLURM_DIR:-/tmp/deeprules-slurm}
RUN=$BASE/run LOG=$BASE/log ST=$BASE/state DB=$BASE/mysql
CTLD_PORT=${DEEPRULES_SLURM_CTLD_PORT:-6817}
SLURMD_PORT=${DEEPRULES_SLURM_SLURMD_PORT:-6818}
DBD_PORT=${DEEPRULES_SLURM_DBD_PORT:-6819}
MYSQL_PORT=${DEEPRULES_SLURM_MYSQL_PORT:-13306}
WAIT_S=${DEEPRULES_SLURM_WAIT_S:-60}
PKGS="munge slurmctld slurmd slurm-client slurmdbd mariadb-server-core mariadb-client-core"
export SLURM_CONF=$BASE/slurm.conf
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
T0=$SECONDS

say() { echo "slurm/start.sh [+$((SECONDS - T0))s]: $*"; }
die() {
  echo "slurm/start.sh: ERROR: $*" >&2
  for f in "$LOG"/slurmctld.log "$LOG"/slurmd.log "$LOG"/slurmdbd.log "$LOG"/mysqld.err; do
    [ -f "$f" ] && { echo "----- last lines of $f" >&2; tail -n 15 "$f" >&2; }
  done
  exit 1
}
alive() { # alive PIDFILE COMM
  local p
  [ -s "$1" ] || return 1
  p=$(cat "$1")
  [ -d "/proc/$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ]
}
wait_for() { # wait_for SECONDS DESCRIPTION CMD...
  local t=$1 d=$2 end
  shift 2
  end=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -ge "$end" ] && die "timed out after ${t}s waiting for $d"
    sleep 0.2
  done
}
wait_daemon() { # wait_daemon SECONDS NAME PIDFILE COMM CMD...  (fails fast if the daemon died)
  local t=$1 d=$2 pf=$3 comm=$4 start=$SECONDS
  shift 4
  until "$@" >/dev/null 2>&1; do
    [ $((SECONDS - start)) -ge "$t" ] && die "timed out after ${t}s waiting for $d"
    if [ $((SECONDS - start)) -ge 3 ] && ! alive "$pf" "$comm"; then die "$d exited during startup"; fi
    sleep 0.2
  done
}
munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
ctld_ok() { scontrol ping 2>/dev/null | grep -q 'is UP'; }
node_state() { sinfo -h -n "$H" -o %T 2>/dev/null | head -n1; }
fill() { # fill TEMPLATE OUT
  sed -e "s|@HOST@|$H|g" -e "s|@CTLD_PORT@|$CTLD_PORT|g" -e "s|@SLURMD_PORT@|$SLURMD_PORT|g" \
    -e "s|@DBD_PORT@|$DBD_PORT|g" -e "s|@MYSQL_PORT@|$MYSQL_PORT|g" -e "s|@STATE@|$ST|g" \
    -e "s|@RUN@|$RUN|g" -e "s|@LOG@|$LOG|g" -e "s|@CPUS@|$NCPU|g" -e "s|@MEM@|$MEM|g" "$1" >"$2"
}

[ "$(id -u)" = 0 ] || die "must run as root (the daemons and the test jobs run as root)"
mkdir -p "$RUN" "$LOG" "$ST/ctld" "$ST/d"

# ---- 1. packages (Debian 12) ------------------------------------------------------
need=0
for b in munged mungekey slurmctld slurmd sinfo sacct slurmdbd mariadbd mariadb-install-db mariadb; do
  command -v "$b" >/dev/null 2>&1 || need=1
done
if [ "$need" = 1 ]; then
  say "installing: $PKGS"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends $PKGS >"$LOG/apt.log" 2>&1 ||
    { apt-get update -q >>"$LOG/apt.log" 2>&1 &&
      apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends $PKGS >>"$LOG/apt.log" 2>&1; } ||
    die "apt-get install failed, see $LOG/apt.log"
fi

# ---- 2. munge -------------------------------------------------------------------
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
fi
install -d -o munge -g munge -m 755 /run/munge
if ! munge_ok; then
  runuser -u munge -- /usr/sbin/munged || die "munged failed to start (see /var/log/munge/munged.log)"
  wait_for 10 munged munge_ok
  cp /run/munge/munged.pid "$RUN/munged.pid" # marks munged as started by us
  say "munged started"
fi

# ---- 3. config (only written while no slurm daemon of ours runs) -------------------
H=$(hostname -s)
if ! alive "$RUN/slurmctld.pid" slurmctld && ! alive "$RUN/slurmd.pid" slurmd; then
  NCPU=$(nproc)
  [ "$NCPU" -ge 4 ] || NCPU=4
  MEM=$(awk '/^MemAvailable:/{m=int($2/1024*0.9/512)*512; if(m<512)m=512; print m}' /proc/meminfo)
  fill "$HERE/slurm.conf.in" "$SLURM_CONF"
  fill "$HERE/slurmdbd.conf.in" "$BASE/slurmdbd.conf"
  chmod 600 "$BASE/slurmdbd.conf" # slurmdbd refuses a world-readable conf
fi
echo "export SLURM_CONF=$SLURM_CONF" >"$BASE/env.sh"
# clients that do not get SLURM_CONF (srun inside a job) find it too, unless a real config is there
if [ ! -e /etc/slurm/slurm.conf ] || [ "$(readlink /etc/slurm/slurm.conf)" = "$SLURM_CONF" ]; then
  mkdir -p /etc/slurm && ln -sfn "$SLURM_CONF" /etc/slurm/slurm.conf
fi

# ---- 4. MariaDB ---------------------------------------------------------------------
MYSQL=(mariadb --no-defaults -S "$RUN/mysqld.sock" -uroot)
if [ ! -d "$DB/mysql" ]; then
  rm -rf "$DB"
  mariadb-install-db --no-defaults --datadir="$DB" --user=root \
    --auth-root-authentication-method=normal --skip-test-db >"$LOG/mysql_install.log" 2>&1 ||
    die "mariadb-install-db failed, see $LOG/mysql_install.log"
fi
if ! alive "$RUN/mysqld.pid" mariadbd; then
  setsid /usr/sbin/mariadbd --no-defaults --datadir="$DB" --user=root \
    --socket="$RUN/mysqld.sock" --port="$MYSQL_PORT" --bind-address=127.0.0.1 \
    --pid-file="$RUN/mysqld.pid" --log-error="$LOG/mysqld.err" --skip-log-bin \
    --innodb-buffer-pool-size=64M --innodb-lock-wait-timeout=900 </dev/null >/dev/null 2>&1 &
  wait_daemon 30 mariadbd "$RUN/mysqld.pid" mariadbd "${MYSQL[@]}" -e 'SELECT 1'
  say "mariadbd started (port $MYSQL_PORT)"
fi
"${MYSQL[@]}" -e "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
  CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';" || die "could not create the slurm DB user"

# ---- 5. slurmdbd (reads slurmdbd.conf beside $SLURM_CONF), slurmctld, slurmd ----------
if ! alive "$RUN/slurmdbd.pid" slurmdbd; then
  /usr/sbin/slurmdbd || die "slurmdbd failed to start"
  wait_daemon 30 slurmdbd "$RUN/slurmdbd.pid" slurmdbd sacctmgr -n list cluster
  say "slurmdbd started"
fi
if ! alive "$RUN/slurmctld.pid" slurmctld; then
  /usr/sbin/slurmctld || die "slurmctld failed to start"
  wait_daemon 30 slurmctld "$RUN/slurmctld.pid" slurmctld ctld_ok
  say "slurmctld started"
fi
if ! alive "$RUN/slurmd.pid" slurmd; then
  /usr/sbin/slurmd || die "slurmd failed to start"
  wait_for 10 "slurmd pidfile" alive "$RUN/slurmd.pid" slurmd
  say "slurmd started"
fi

# ---- 6. wait for the node to be idle -------------------------------------------------
end=$((SECONDS + WAIT_S)) resumed=0
while :; do
  s=$(node_state || true)
  case "$s" in
    idle|mixed|allocated) break ;;
    down*|drain*|fail*)
      if [ "$resumed" = 0 ]; then scontrol update nodename="$H" state=resume >/dev/null 2>&1 || true; resumed=1; fi ;;
  esac
  alive "$RUN/slurmd.pid" slurmd || die "slurmd exited during startup"
  [ "$SECONDS" -ge "$end" ] && die "node $H not idle after ${WAIT_S}s (state: '${s:-none}')"
  sleep 0.2
done
sacct -n -X -j 1 >/dev/null 2>&1 || die "sacct does not work (slurmdbd/accounting problem)"
say "cluster up: $(sinfo -h -o '%P %a %D %T %N %c CPUs' | tr '\n' ' ')"
