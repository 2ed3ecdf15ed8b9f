"""Summaries of a conversion: what was written, what the labels held, and
the DSM statistics to use for global DSM normalisation."""
import math
from typing import Dict, List, Tuple

LABEL_ROLES = dict(labels='full', eroded_labels='eroded')


def mean_and_std(count: int, total, total_sq) -> Tuple:
    """Mean and (population) standard deviation from a pixel count, sum and
    sum of squares, as ``conversion.json`` records them per tile (scalars,
    or one value per band).

    Args:
        count (int): Number of pixels.
        total (float | list[float]): Sum of the values.
        total_sq (float | list[float]): Sum of the squared values.

    Returns:
        tuple: (mean, std), floats or lists of floats like ``total``.
    """
    if isinstance(total, (list, tuple)):
        pairs = [mean_and_std(count, t, s) for t, s in zip(total, total_sq)]
        return [m for m, _ in pairs], [s for _, s in pairs]
    mean = total / count
    return mean, math.sqrt(max(total_sq / count - mean**2, 0.0))


def dsm_statistics(manifest: dict,
                   split: str = 'train') -> Tuple[float, float]:
    """Mean and standard deviation of the heights of all tiles of a split.

    Args:
        manifest (dict): A conversion manifest (``conversion.json``).
        split (str): Split whose tiles are pooled.

    Returns:
        tuple[float, float]: (mean, std) over all pixels of the split.
    """
    records = [r for r in manifest['tiles'].values() if r['split'] == split]
    if not records:
        raise ValueError(f'no {split} tiles in the manifest')
    return mean_and_std(
        sum(r['dsm_count'] for r in records),
        sum(r['dsm_sum'] for r in records),
        sum(r['dsm_sum_sq'] for r in records))


def optical_statistics(manifest: dict,
                       split: str = 'train') -> Tuple[list, list]:
    """Per-band mean and standard deviation of the optical bands of all
    tiles of a split (``SegDataPreProcessor``'s ``mean``/``std``).

    Args:
        manifest (dict): A conversion manifest (``conversion.json``).
        split (str): Split whose tiles are pooled.

    Returns:
        tuple[list[float], list[float]]: (means, stds), one per optical
        band in the converted order (``settings['bands']``).

    Raises:
        ValueError: No tile of the split, or tiles converted before the
            optical statistics were recorded (the message names them and
            the command that adds them).
    """
    records = {t: r for t, r in manifest['tiles'].items()
               if r['split'] == split}
    if not records:
        raise ValueError(f'no {split} tiles in the manifest')
    missing = sorted(t for t, r in records.items() if 'img_sum' not in r)
    if missing:
        raise ValueError(
            f'no optical statistics recorded for tiles {missing}; '
            'python tools/dataset_converters/rewrite_layout.py DATA_ROOT '
            'records them')
    bands = len(next(iter(records.values()))['img_sum'])
    return mean_and_std(
        sum(r['img_count'] for r in records.values()),
        [sum(r['img_sum'][b] for r in records.values())
         for b in range(bands)],
        [sum(r['img_sum_sq'][b] for r in records.values())
         for b in range(bands)])


def colour_findings(manifest: dict) -> Dict[str, Dict[str, dict]]:
    """Tile -> label role ('full'/'eroded') -> colour report (as written by
    :meth:`.ColourReport.to_dict`), only for label maps with off-palette or
    unknown colours."""
    findings: Dict[str, Dict[str, dict]] = {}
    for tile, record in sorted(manifest['tiles'].items()):
        for role, report in record['colours'].items():
            if report['off_palette'] or report['unknown']:
                findings.setdefault(tile, {})[LABEL_ROLES[role]] = report
    return findings


def _split_table(manifest: dict) -> List[str]:
    run = manifest['run']
    lines = [f'  {"split":<6}{"tiles":>7}{"written":>9}{"skipped":>9}'
             f'{"files":>8}']
    for split in ('train', 'val'):
        tiles = [t for t, r in manifest['tiles'].items()
                 if r['split'] == split]
        files = sum(len(manifest['tiles'][t]['files']) for t in tiles)
        lines.append(
            f'  {split:<6}{len(tiles):>7}'
            f'{len([t for t in run["written"] if t in tiles]):>9}'
            f'{len([t for t in run["skipped"] if t in tiles]):>9}'
            f'{files:>8}')
    return lines


def format_summary(manifest: dict) -> str:
    """A human-readable account of a conversion (see
    :func:`.convert.convert_dataset`)."""
    settings, run = manifest['settings'], manifest['run']
    mode = ('whole tiles' if settings['mode'] == 'tiles' else
            f'crops of {settings["crop_size"]} px, stride '
            f'{settings["stride"]} px')
    lines = [
        f'{settings["dataset"]}: {mode} in {run["out_dir"]}',
        f'  optical bands {", ".join(settings["bands"])} from '
        f'{" + ".join(settings["optical"])}',
        f'  heights: {run["dsm_note"]} from {settings["dsm_archive"]}',
    ]
    lines += _split_table(manifest)
    if run['unlisted']:
        lines.append('  skipped, in neither official split: '
                     f'{", ".join(run["unlisted"])}')
    for archive, tiles in run['orphans'].items():
        lines.append(f'  ignored, no optical image: {", ".join(tiles)} in '
                     f'{archive}')
    findings = colour_findings(manifest)
    if not findings:
        lines.append('  label colours: all on the palette')
    for tile, reports in findings.items():
        for role, report in reports.items():
            text = (f'  labels {tile} ({role}): {report["off_palette"]} '
                    'off-palette px snapped (channel threshold '
                    f'{settings["threshold"]})')
            if report['unknown']:
                colours = ', '.join(
                    f'{tuple(colour)} x {count}'
                    for colour, count in report['unknown_colours'][:5])
                text += (f'; {report["unknown"]} px of unknown colours set '
                         f'to 255 (ignored): {colours}')
            lines.append(text)
    if any(r['split'] == 'train' for r in manifest['tiles'].values()):
        mean, std = dsm_statistics(manifest)
        lines.append(
            f'  heights over the training tiles: mean {mean:.4f}, std '
            f'{std:.4f} (for NormalizeDSM(mode=\'global\', mean={mean:.4f},'
            f' std={std:.4f}))')
        try:
            means, stds = optical_statistics(manifest)
        except ValueError as err:
            return '\n'.join(lines + [f'  optical bands: {err}'])
        lines.append(
            '  optical bands over the training tiles '
            f'({", ".join(settings["bands"])}): mean '
            f'[{", ".join(f"{m:.2f}" for m in means)}], std '
            f'[{", ".join(f"{s:.2f}" for s in stds)}] (band_mean/band_std '
            'of the data set config, followed by the height band\'s 0.0/1.0)')
    return '\n'.join(lines)
