"""Benchmark harnesses of the tools in ``tools/analysis_tools/``: model cost
and speed (:mod:`.model_benchmark`), raster prediction's time and memory
(:mod:`.predict_benchmark`) and training-data throughput
(:mod:`.loading_benchmark`), with the synthetic inputs they generate.

They live beside ``tools/``, not in ``mmseg_lanet``: they spawn processes,
measure memory and read ``configs/`` from the repository, none of which an
installed package should do.
"""
