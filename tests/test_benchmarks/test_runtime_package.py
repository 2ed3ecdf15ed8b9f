"""The installed package is runtime code: the benchmark harnesses and test
support live beside it (``benchmarks/``, ``tests/``) and stay out of the
wheel, and nothing in it reaches for the repository (``configs/`` is not
installed)."""
import glob
import os.path as osp
import re
import runpy

import setuptools

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_wheel_packages_are_mmseg_lanet_only(monkeypatch):
    options = {}
    monkeypatch.setattr(setuptools, 'setup', lambda **kw: options.update(kw))
    monkeypatch.chdir(REPO)
    runpy.run_path(osp.join(REPO, 'setup.py'))
    packages = options['packages']
    assert 'mmseg_lanet.apis' in packages
    assert [p for p in packages if p.split('.')[0] != 'mmseg_lanet'] == []


def test_package_imports_no_benchmark_or_test_code():
    found = []
    for path in glob.glob(osp.join(REPO, 'mmseg_lanet', '**', '*.py'),
                          recursive=True):
        with open(path, encoding='utf-8') as f:
            source = f.read()
        name = osp.relpath(path, REPO)
        if re.search(r'^\s*(from|import) (benchmarks|tests|pytest)\b',
                     source, flags=re.M):
            found.append(f'{name} imports benchmark or test code')
        # The package's own folder is the furthest a path may climb from
        # __file__: dirname once per folder below mmseg_lanet/, plus one.
        depth = name.count('/')
        for call in re.findall(r'(?:osp\.dirname\()+[\w.]*\(?__file__',
                               source):
            if call.count('dirname(') > depth:
                found.append(f'{name} builds a path above the package '
                             f'from __file__: {call}')
    assert not found, '\n'.join(found)
