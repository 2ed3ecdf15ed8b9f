#!/usr/bin/env bash
# Maps of many rasters by the tasks of a Slurm job, each on its share of the
# inputs (by pixels) and its own GPU, or the CPU:
#   tools/slurm_predict.sh PARTITION JOB_NAME CONFIG CHECKPOINT INPUT...
#       --out-dir DIR [ARGS]
# (tools/predict.py's arguments; see slurm_launch.sh for the environment
# variables).
exec "$(dirname "$0")/slurm_launch.sh" predict.py "$@"
