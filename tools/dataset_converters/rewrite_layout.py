"""Rewrite converted ISPRS data in place into the windowed layout.

Example::

    python tools/dataset_converters/rewrite_layout.py data/potsdam

Resumable; see ``docs/user_guides/data_preparation.md``.
"""
from mmseg_lanet.datasets.converters.cli import rewrite_main

if __name__ == '__main__':
    rewrite_main()
