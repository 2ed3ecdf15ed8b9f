#!/usr/bin/env bash
# Testing on a Slurm cluster: tools/slurm_test.sh PARTITION JOB_NAME CONFIG
# CHECKPOINT [ARGS] (see slurm_launch.sh for the environment variables).
exec "$(dirname "$0")/slurm_launch.sh" test.py "$@"
