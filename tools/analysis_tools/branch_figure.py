"""Draw a tile's LANet branch predictions before and after PAM/AEM (the
paper's figures 5 and 6) into a PNG.

  python tools/analysis_tools/branch_figure.py CONFIG CHECKPOINT IMAGE \
      --dsm DSM --label LABEL.png --out figure.png
"""
import argparse

import mmseg_lanet  # noqa: F401
from mmseg_lanet.apis import load_segmentor
from mmseg_lanet.visualization.figures import draw_branch_figure


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('image', help='the tile (image raster)')
    parser.add_argument('--dsm', help='its height raster')
    parser.add_argument('--label', help='its reference (class index PNG)')
    parser.add_argument('--bands', nargs='+',
                        help="the image's band names in file order")
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    model = load_segmentor(args.config, args.checkpoint, args.device)
    draw_branch_figure(model, args.image, args.out, args.dsm, args.label,
                       args.bands)
    print(f'figure written to {args.out}')


if __name__ == '__main__':
    main()
