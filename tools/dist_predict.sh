#!/usr/bin/env bash
# Maps of many rasters by several processes, each on its share of the
# inputs (by pixels) and its own GPU, or the CPU:
#   tools/dist_predict.sh CONFIG CHECKPOINT NPROC INPUT... --out-dir DIR [ARGS]
# (tools/predict.py's arguments; see dist_launch.sh for the environment
# variables).
exec "$(dirname "$0")/dist_launch.sh" predict.py "$3" "$1" "$2" "${@:4}"
