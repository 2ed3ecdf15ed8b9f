#!/usr/bin/env bash
# srun launcher shared by slurm_train.sh, slurm_test.sh and slurm_predict.sh:
#   tools/slurm_launch.sh SCRIPT PARTITION JOB_NAME [SCRIPT ARGS]
# GPUS (tasks in all, default 4), GPUS_PER_NODE (tasks and GPUs per node,
# default 4), CPUS_PER_TASK (default 5), GRES (default gpu:GPUS_PER_NODE;
# none on a cluster without GPUs, whose tasks then run over gloo), PORT
# (the rendezvous port, default 29500) and SRUN_ARGS configure the job.
set -euo pipefail
SCRIPT=$1
PARTITION=$2
JOB_NAME=$3
GPUS=${GPUS:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-4}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
GRES=${GRES:-gpu:$GPUS_PER_NODE}
SRUN_ARGS=${SRUN_ARGS:-}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

# srun passes the environment on to every task.
PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
MASTER_PORT="${PORT:-${MASTER_PORT:-29500}}" \
exec srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres="$GRES" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    python -u "$ROOT/tools/$SCRIPT" "${@:4}" --launcher slurm
