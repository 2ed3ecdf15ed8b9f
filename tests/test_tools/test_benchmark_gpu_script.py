"""tools/analysis_tools/benchmark_gpu.sh: the one-run GPU figures. Its
benchmarks need CUDA; here: that every command it runs parses (a typo
would cost a GPU session its device time) and that parts are checked."""
import os.path as osp
import re
import shlex
import subprocess

from _tool_helpers import REPO

SCRIPT = osp.join(REPO, 'tools', 'analysis_tools', 'benchmark_gpu.sh')


def test_unknown_part_is_an_error(tmp_path):
    out = tmp_path / 'out'
    proc = subprocess.run(['bash', SCRIPT, str(out), 'amp', 'nonsense'],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert ('unknown part: nonsense (predict, amp, profile, compile, zoo, '
            'tests)') in proc.stderr
    # Checked before anything runs: no part started, nothing written.
    assert not out.exists()


def test_without_cuda_it_stops_first(tmp_path):
    import pytest
    import torch
    if torch.cuda.is_available():
        pytest.skip('this machine has CUDA')
    out = tmp_path / 'out'
    proc = subprocess.run(['bash', SCRIPT, str(out), 'predict'],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f'benchmark_gpu.sh needs a CUDA device: torch {torch.__version__} '
        'sees none')
    assert not out.exists()


def _python_commands():
    """The script's `python tools/...` command lines, with its variables
    expanded and line continuations joined."""
    text = open(SCRIPT).read().replace('\\\n', ' ')
    variables = dict(re.findall(r'^(\w+)=(\S+)$', text, re.M))
    # A loop variable takes its first value.
    variables.update(re.findall(r'for (\w+) in (\w+)', text))
    expand = re.compile(r'\$\{?(\w+)\}?')
    for _ in range(3):
        variables = {k: expand.sub(lambda m: variables.get(m[1], m[0]), v)
                     for k, v in variables.items()}
    commands = []
    for line in text.splitlines():
        match = re.search(r'python (tools/\S+\.py .*?)(?: 2>&1|$)', line)
        if match:
            command = expand.sub(
                lambda m: variables.get(m[1], 'X'),
                match[1].replace('$flags', '--channels-last --amp'))
            commands.append(shlex.split(command))
    return commands


def test_every_command_parses_and_names_existing_configs():
    import importlib.util
    commands = _python_commands()
    tools = sorted({c[0] for c in commands})
    assert tools == ['tools/analysis_tools/benchmark_models.py',
                     'tools/analysis_tools/benchmark_predict.py']
    assert len(commands) == 10
    parsers = {}
    for tool in tools:
        spec = importlib.util.spec_from_file_location(
            osp.basename(tool)[:-3], osp.join(REPO, tool))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        parsers[tool] = module
    for tool, *args in commands:
        module = parsers[tool]
        if hasattr(module, 'parse_args'):
            _, parsed = module.parse_args(args)
            assert parsed.device == 'cuda'
            for config in parsed.configs:
                assert osp.isfile(osp.join(REPO, config)), config
            # Every config named reaches the configs (an option with an
            # optional value would swallow the one after it).
            named = [a for a in args if a.endswith('.py')]
            assert not named or list(parsed.configs) == named
        else:
            assert '--device' in args and 'cuda' in args
