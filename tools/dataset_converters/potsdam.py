"""Convert the official ISPRS Potsdam archives.

Example::

    python tools/dataset_converters/potsdam.py /path/to/Potsdam -o data/potsdam

See ``docs/user_guides/data_preparation.md`` for the archives and the output
layout.
"""
from mmseg_lanet.datasets.converters.cli import main
from mmseg_lanet.datasets.converters.potsdam import POTSDAM_LAYOUT

if __name__ == '__main__':
    main(POTSDAM_LAYOUT)
