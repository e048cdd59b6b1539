#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for the SLURM tests (and for trying the
# workflow's SLURM profile by hand).  No systemd: the daemons run from a state folder and
# are stopped by the PIDs this script recorded.
#
#   tests/slurm/local-cluster.sh start STATE_DIR   # prints the SLURM_CONF to export
#   tests/slurm/local-cluster.sh stop STATE_DIR
#
# Needs root (to install Debian's slurm-wlm and munge when missing and to run the daemons).
# Job status is followed with squeue (no accounting database): MinJobAge keeps finished
# jobs visible for 10 minutes, far longer than Snakemake's status-check interval.
#
# The configuration lives in STATE_DIR and is linked from /etc/slurm/slurm.conf, because
# the plugin's job step clears SLURM_* variables (SLURM_CONF too) before it calls srun,
# which then reads the default path.  An existing /etc/slurm/slurm.conf that is not such a
# link is left alone, and the start fails.
set -euo pipefail
DEFAULT_CONF=/etc/slurm/slurm.conf

action=${1:?usage: local-cluster.sh start|stop STATE_DIR}
state=${2:?usage: local-cluster.sh start|stop STATE_DIR}
state=$(mkdir -p "$state" && cd "$state" && pwd)

stop() {
    if [ -L "$DEFAULT_CONF" ] && [ "$(readlink "$DEFAULT_CONF")" = "$state/slurm.conf" ]; then
        rm -f "$DEFAULT_CONF"
    fi
    for name in slurmd slurmctld munged; do
        pidfile="$state/run/$name.pid"
        if [ -s "$pidfile" ]; then
            pid=$(cat "$pidfile")
            if kill -0 "$pid" 2>/dev/null; then
                kill "$pid" 2>/dev/null || true
                for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
                kill -9 "$pid" 2>/dev/null || true
            fi
            rm -f "$pidfile"
        fi
    done
}

install_when_missing() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v munged >/dev/null && command -v sbatch >/dev/null; then
        return
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "SLURM is not installed and this is not root: cannot install slurm-wlm" >&2
        exit 3
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    if [ "$(id -u)" != 0 ]; then
        echo "starting SLURM daemons needs root" >&2
        exit 3
    fi
    install_when_missing
    stop
    mkdir -p "$state"/{run,log,spool,ctld,munge}
    chmod 700 "$state/munge"
    host=$(hostname -s)
    cpus=$(nproc)
    memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))

    # munge: a key and a socket of our own
    dd if=/dev/urandom of="$state/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$state/munge/munge.key"
    munged --force --key-file="$state/munge/munge.key" \
        --socket="$state/munge/munge.socket" --pid-file="$state/run/munged.pid" \
        --log-file="$state/log/munged.log" --seed-file="$state/munge/munge.seed"

    cat > "$state/slurm.conf" <<CONF
ClusterName=masterbias
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$state/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/run/slurmctld.pid
SlurmdPidFile=$state/run/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=600
MpiDefault=none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    if [ -e "$DEFAULT_CONF" ] && ! [ -L "$DEFAULT_CONF" ]; then
        echo "$DEFAULT_CONF exists and is not ours: not starting a test cluster over it" >&2
        stop
        exit 3
    fi
    mkdir -p "$(dirname "$DEFAULT_CONF")"
    ln -sfn "$state/slurm.conf" "$DEFAULT_CONF"
    export SLURM_CONF="$state/slurm.conf"
    slurmctld -f "$SLURM_CONF"
    slurmd -f "$SLURM_CONF"
    for _ in $(seq 100); do
        if sinfo -h -o '%t' 2>/dev/null | grep -qx idle; then
            echo "SLURM_CONF=$SLURM_CONF"
            return
        fi
        sleep 0.2
    done
    echo "the node did not become idle; logs in $state/log" >&2
    sinfo >&2 || true
    tail -n 20 "$state/log/slurmctld.log" "$state/log/slurmd.log" >&2 || true
    stop
    exit 1
}

case "$action" in
    start) start ;;
    stop) stop ;;
    *) echo "unknown action $action" >&2; exit 2 ;;
esac
