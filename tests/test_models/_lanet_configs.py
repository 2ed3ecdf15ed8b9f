"""The shipped LANet configs, for the tests that run each of them."""
import glob
import os.path as osp

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'lanet')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))


def name_of(path: str) -> str:
    """The config's name, without folder and extension."""
    return osp.basename(path)[:-3]


def check_model_index(folder: str) -> None:
    """Assert that ``configs/<folder>``'s configs are each in its
    metafile.yaml (imported by model-index.yml) and linked from its
    README.md."""
    import yaml
    root = osp.join(osp.dirname(__file__), '..', '..')
    config_dir = osp.join(root, 'configs', folder)
    configs = sorted(glob.glob(osp.join(config_dir, '*.py')))
    with open(osp.join(root, 'model-index.yml')) as f:
        assert f'configs/{folder}/metafile.yaml' in yaml.safe_load(
            f)['Import']
    with open(osp.join(config_dir, 'metafile.yaml')) as f:
        models = yaml.safe_load(f)['Models']
    assert sorted(m['Config'] for m in models) == sorted(
        f'configs/{folder}/{name_of(p)}.py' for p in configs)
    assert all(m['Name'] == name_of(m['Config']) for m in models)
    with open(osp.join(config_dir, 'README.md')) as f:
        readme = f.read()
    for path in configs:
        assert f'[config]({name_of(path)}.py)' in readme
