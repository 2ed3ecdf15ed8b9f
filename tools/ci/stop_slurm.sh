#!/usr/bin/env bash
# Stops the cluster of tools/ci/start_slurm.sh: slurmd, slurmctld, munged,
# each by the process id it wrote under $SLURM_CI_DIR.
set -uo pipefail
DIR=${SLURM_CI_DIR:-/var/tmp/mmseg-lanet-slurm}
for daemon in slurmd slurmctld munged; do
    pidfile=$DIR/$daemon.pid
    [ -s "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
    rm -f "$pidfile"
done
