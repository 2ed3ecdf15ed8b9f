#!/usr/bin/env bash
# Training on a Slurm cluster: tools/slurm_train.sh PARTITION JOB_NAME CONFIG
# [ARGS] (see slurm_launch.sh for the environment variables).
exec "$(dirname "$0")/slurm_launch.sh" train.py "$@"
