"""Command line shared by ``tools/dataset_converters/{potsdam,vaihingen}.py``.
"""
import argparse
from typing import Optional, Sequence

from .convert import MODES, convert_dataset
from .layout import DatasetLayout
from .report import format_summary
from .rewrite import rewrite_layout


def build_parser(layout: DatasetLayout) -> argparse.ArgumentParser:
    """Arguments of a converter CLI for one data set."""
    archives = sorted({s.spec.archive for way in layout.optical for s in way}
                      | {s.archive for s in layout.dsm.values()}
                      | {layout.labels.archive, layout.eroded_labels.archive})
    parser = argparse.ArgumentParser(
        description=f'Convert the official ISPRS {layout.name} archives '
        f'({", ".join(archives)}) into multi-band image, DSM and label '
        'files (see docs/user_guides/data_preparation.md).')
    parser.add_argument(
        'archive_dir', help='folder holding the downloaded zip archives')
    parser.add_argument(
        '-o', '--out-dir', '--out_dir', default=f'data/{layout.name}',
        help='output folder (default: %(default)s)')
    parser.add_argument(
        '--mode', choices=MODES, default='tiles',
        help="'tiles': whole tiles, as in the LANet paper (random crops are "
        "taken while training); 'crops': overlapping crops (default: "
        '%(default)s)')
    parser.add_argument(
        '--crop-size', '--clip_size', type=int, default=512,
        help="crop side in 'crops' mode (default: %(default)s)")
    parser.add_argument(
        '--stride', '--stride_size', type=int, default=256,
        help="stride between crops in 'crops' mode (default: %(default)s)")
    parser.add_argument(
        '--dsm', choices=['auto', *layout.dsm], default='auto',
        help='height source; auto takes the first archive present of '
        f'{", ".join(s.archive for s in layout.dsm.values())}')
    parser.add_argument(
        '--threshold', type=int, default=127,
        help='label colour channel threshold (default: %(default)s)')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    return parser


def main(layout: DatasetLayout, argv: Optional[Sequence[str]] = None) -> dict:
    """Parse arguments, convert, print the summary.

    Returns:
        dict: The conversion manifest.
    """
    args = build_parser(layout).parse_args(argv)
    manifest = convert_dataset(
        layout,
        args.archive_dir,
        args.out_dir,
        mode=args.mode,
        crop_size=args.crop_size,
        stride=args.stride,
        dsm=args.dsm,
        threshold=args.threshold,
        progress=not args.no_progress)
    print(format_summary(manifest))
    return manifest


def rewrite_main(argv: Optional[Sequence[str]] = None) -> dict:
    """``tools/dataset_converters/rewrite_layout.py``: rewrite converted
    data in place into the windowed layout, print what was done.

    Returns:
        dict: See :func:`.rewrite.rewrite_layout`.
    """
    parser = argparse.ArgumentParser(
        description='Rewrite data converted before the windowed layout (PNG '
        'labels) in place: every file becomes an uncompressed TIFF that '
        'training reads by window, and conversion.json gains the optical '
        'statistics. Resumable: an interrupted run leaves every tile '
        'readable; run it again to finish.')
    parser.add_argument(
        'data_root', help="the converter's output folder, e.g. data/potsdam")
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    args = parser.parse_args(argv)
    summary = rewrite_layout(args.data_root, progress=not args.no_progress)
    print(f'{args.data_root}: {summary["rewritten"]} file(s) rewritten, '
          f'{summary["removed"]} old file(s) removed, optical statistics '
          f'added for {summary["statistics"]} tile(s); the layout is now '
          'windowed')
    return summary
