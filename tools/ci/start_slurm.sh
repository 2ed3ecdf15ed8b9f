#!/usr/bin/env bash
# A one-node Slurm cluster on localhost for the Slurm tests (run as root):
#   tools/ci/start_slurm.sh [--no-install]
# Installs Debian's slurm-wlm and munge when missing (apt-get; --no-install
# when the caller installed them), writes a munge key and
# /etc/slurm/slurm.conf (node localhost, 2 CPUs as two task slots, partition
# $SLURM_PARTITION, default "ci"), starts munged, slurmctld and slurmd, and
# returns once `srun -N1 -n2 hostname` runs two tasks. Stop it with
# tools/ci/stop_slurm.sh. State and logs go to $SLURM_CI_DIR
# (default /var/tmp/mmseg-lanet-slurm).
set -euo pipefail
DIR=${SLURM_CI_DIR:-/var/tmp/mmseg-lanet-slurm}
PARTITION=${SLURM_PARTITION:-ci}
CONF=/etc/slurm/slurm.conf
MARK='# written by mmseg-lanet tools/ci/start_slurm.sh'
TIMEOUT=${SLURM_START_TIMEOUT:-60}

fail() { echo "start_slurm.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (starts munged, slurmctld, slurmd)"
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    [ "${1:-}" != --no-install ] || fail "slurm-wlm or munge is not installed"
    command -v apt-get >/dev/null || fail "no apt-get to install slurm-wlm munge"
    install() {
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge \
            >/dev/null 2>&1
    }
    # A fresh container has no package lists yet.
    install || { apt-get update -qq >/dev/null 2>&1 && install; } \
        || fail "apt-get install slurm-wlm munge failed"
fi
if [ -e "$CONF" ] && ! grep -qxF "$MARK" "$CONF"; then
    fail "$CONF exists and was not written by this script; not touching it"
fi
if [ -e "$DIR/slurmctld.pid" ] && kill -0 "$(cat "$DIR/slurmctld.pid")" 2>/dev/null; then
    fail "a cluster started by this script is running; stop it first with tools/ci/stop_slurm.sh"
fi

mkdir -p "$DIR/state" "$DIR/spool" /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge /etc/munge/munge.key
chmod 700 /etc/munge
chmod 400 /etc/munge/munge.key

cat > "$CONF" <<CONF
$MARK
ClusterName=mmseg-lanet-ci
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
EnforcePartLimits=ALL
SlurmdParameters=config_overrides
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=$PARTITION Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF

start=$(date +%s)
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    # munged runs as its own user, so its pid file goes to its folder.
    runuser -u munge -- munged --pid-file=/run/munge/munged.pid \
        || fail "munged did not start (see /var/log/munge/munged.log)"
    ln -sf /run/munge/munged.pid "$DIR/munged.pid"
fi
slurmctld -c -f "$CONF" || fail "slurmctld did not start (see $DIR/slurmctld.log)"
slurmd -c -N localhost -f "$CONF" || fail "slurmd did not start (see $DIR/slurmd.log)"

until out=$(timeout 10 srun -N1 -n2 -t 1 hostname 2>&1) \
        && [ "$(printf '%s\n' "$out" | wc -l)" = 2 ]; do
    if [ $(( $(date +%s) - start )) -ge "$TIMEOUT" ]; then
        fail "srun -N1 -n2 hostname did not run two tasks within ${TIMEOUT} s: $out (logs in $DIR)"
    fi
    sleep 1
done
echo "start_slurm.sh: partition $PARTITION on localhost (2 CPUs) up in $(( $(date +%s) - start )) s"
