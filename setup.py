"""Install mmseg-lanet: ``bash tools/install.sh`` (the OpenMMLab stack, mmcv
built from source, and ``pip install -e .[tests]``), or ``pip install
.[deploy]`` for maps from an exported ONNX model without torch."""
import os.path as osp

from setuptools import find_packages, setup


# The OpenMMLab stack: training, testing and maps with PyTorch.
MMSEG_REQUIRES = [
    'torch>=2.0',
    # The compiled mmcv (mmseg imports mmcv.ops); mmcv-lite is not enough.
    'mmcv>=2.0.0,<2.2.0',
    'mmengine>=0.10.0,<0.11.0',
    'mmsegmentation>=1.2.0,<1.3.0',
    # mmseg imports these at start-up without declaring them.
    'ftfy',
    'regex',
    'tifffile',
    'tqdm',
    # Figures (tools/analysis_tools/branch_figure.py, confusion matrix).
    'matplotlib',
    # mmengine's `mmseg::` config lookup needs pkg_resources
    # (removed in setuptools 82).
    'setuptools>=77,<82',
]
# Maps from an exported ONNX model, without torch.
DEPLOY_REQUIRES = ['onnxruntime>=1.16', 'rasterio>=1.3']


def read_version():
    namespace = {}
    with open(osp.join(osp.dirname(__file__), 'mmseg_lanet', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='mmseg-lanet',
    version=read_version(),
    description='LANet (patch attention + attention embedding) for '
    'MMSegmentation 1.x on ISPRS Potsdam and Vaihingen',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    packages=find_packages(
        exclude=('tests', 'tests.*', 'configs', 'tools', 'benchmarks',
                 'benchmarks.*')),
    python_requires='>=3.8',
    # Maps from an exported ONNX model need numpy only (plus the deploy
    # extra); training, testing and PyTorch maps need the OpenMMLab stack
    # (the mmseg extra; tools/install.sh installs it, building mmcv).
    install_requires=['numpy'],
    extras_require={
        'mmseg': MMSEG_REQUIRES,
        # Maps without torch: tools/predict.py model.onnx (onnxruntime) on
        # georeferenced rasters (rasterio).
        'deploy': DEPLOY_REQUIRES,
        # Georeferenced rasters for tools/predict.py (CRS, transform,
        # nodata, tiled compressed GeoTIFF output).
        'geo': ['rasterio>=1.3'],
        # tools/deployment/export_onnx.py: onnx writes the file's metadata,
        # onnxruntime checks the graph against PyTorch.
        'export': MMSEG_REQUIRES + ['onnx>=1.14', 'onnxruntime>=1.16'],
        'tests': MMSEG_REQUIRES + DEPLOY_REQUIRES + ['pytest>=7', 'onnx'],
    },
    zip_safe=False,
)
