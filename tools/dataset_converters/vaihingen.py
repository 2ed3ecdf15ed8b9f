"""Convert the official ISPRS Vaihingen archives.

Example::

    python tools/dataset_converters/vaihingen.py /path/to/Vaihingen \
        -o data/vaihingen

See ``docs/user_guides/data_preparation.md`` for the archives and the output
layout.
"""
from mmseg_lanet.datasets.converters.cli import main
from mmseg_lanet.datasets.converters.vaihingen import VAIHINGEN_LAYOUT

if __name__ == '__main__':
    main(VAIHINGEN_LAYOUT)
