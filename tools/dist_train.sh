#!/usr/bin/env bash
# Multi-process training: tools/dist_train.sh CONFIG GPUS [ARGS]
# (see dist_launch.sh for the environment variables).
exec "$(dirname "$0")/dist_launch.sh" train.py "$2" "$1" "${@:3}"
