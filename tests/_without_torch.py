"""Run Python code in a subprocess where torch, mmcv, mmengine and mmseg
cannot be imported, as on a machine with only the deploy extra."""
import os
import subprocess
import sys

BLOCKED = ('torch', 'mmcv', 'mmengine', 'mmseg')
# None in sys.modules makes `import torch` raise ImportError and
# importlib.util.find_spec('torch') return None (not installed); the hook
# refuses their submodules too.
PRELUDE = f'''
import sys
BLOCKED = {BLOCKED!r}
class _Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in BLOCKED:
            raise ImportError(f'{{name}} is blocked in this test')
sys.meta_path.insert(0, _Blocker())
for _name in BLOCKED:
    sys.modules[_name] = None
'''


def run_without_torch(code: str, *args: str, cwd=None):
    """Run ``code`` (after the blocking prelude) with ``args`` as
    ``sys.argv[1:]``; returns the finished process (text output)."""
    env = dict(os.environ, PYTHONWARNINGS='ignore::DeprecationWarning')
    return subprocess.run(
        [sys.executable, '-c', PRELUDE + code, *args], capture_output=True,
        text=True, cwd=cwd, env=env, timeout=300)
