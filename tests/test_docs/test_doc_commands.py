"""Every shell command in README.md and docs/**/*.md is accounted for, so the
docs cannot drift from the code.

A command (a line of a ```shell, ```bash or ```sh block; lines ending in
``\\`` are joined) is exactly one of:

- **run** here (``RUN``): in the order of that list, in one scratch folder
  that holds ``configs/`` and ``tools/`` as a clone does, in this process
  (``runpy``, as ``python tools/x.py`` runs it), each followed by a check of
  what it wrote. Where a command needs a file the docs produce by a long run
  (a trained checkpoint) or name by placeholder, ``substitute`` says what
  the test gives instead;
- **covered** (``COVERED``): an existing test runs the same tool with the
  same flags (on smaller inputs); checked by reading that test's module:
  the test function exists, and the tool's file name and every ``--flag``
  (and ``--cfg-options`` key) of the command appear in it;
- **marked** in the page: a line ``<!-- docs-test: REASON -->`` just above
  the block, REASON one of ``REASONS``. The suite cannot run such a command,
  but its tool must exist and, for a ``python`` tool, accept every
  ``--flag`` the command gives (checked against its ``--help``); a command
  "covered by .ci/run" must be a line of ``.ci/run``; a block "covered by
  tests/PATH.py::test_name" (or a whole module) is checked as ``COVERED``.

Commands that a guide names for the user's own data are marked
``synopsis`` (placeholders such as CONFIG, CHECKPOINT).
"""
import ast
import contextlib
import glob
import io
import os
import os.path as osp
import re
import runpy
import shlex
import sys
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
THIS = osp.relpath(osp.abspath(__file__), REPO)
SAMPLE_CONFIG = ('configs/sample/'
                 'lanet_r18-d32_1xb4-200i_sample-potsdam-rgbir-dsm-256x256.py')
SAMPLE_TILE = 'data/sample/potsdam/{}/val/2_13.tif'

#: Why a command may stay unrun, as written in ``<!-- docs-test: ... -->``.
REASONS = {
    'needs real data': 'the ISPRS archives (registration with ISPRS)',
    'needs a GPU': 'a CUDA device',
    'needs a Slurm cluster': 'a Slurm partition',
    'installs packages': 'changes the Python environment',
    'synopsis': 'a usage line with placeholders (CONFIG, CHECKPOINT, ...)',
    'covered by .ci/run': '.ci/run runs it on a clean clone (checked)',
}
#: Or ``covered by tests/...py::test_name`` (or a whole test module): that
#: test runs the block's tools with their flags (checked as for COVERED).
COVERED_BY_TEST = re.compile(r'covered by (tests/[\w/]+\.py(?:::\w+)?)')
MARKER = re.compile(r'<!--\s*docs-test:\s*(.*?)\s*-->')
FENCE = re.compile(r'^```(shell|bash|sh)\s*$')


@dataclass
class DocCommand:
    """One command of a page: where it is, its words, its block's mark."""
    page: str
    line: int
    words: List[str]
    reason: Optional[str]

    @property
    def text(self) -> str:
        return ' '.join(self.words)

    @property
    def tool(self) -> Optional[str]:
        """The repository script the command runs, if any."""
        return next((w for w in self.words
                     if w.startswith('tools/') or w.endswith(('.py', '.sh'))
                     and osp.isfile(osp.join(REPO, w))), None)

    def flags(self) -> List[str]:
        return sorted(set(re.findall(r'(?<![\w-])--[A-Za-z][\w-]*',
                                     self.text)))


def doc_pages() -> List[str]:
    pages = glob.glob(osp.join(REPO, 'docs', '**', '*.md'), recursive=True)
    return ['README.md'] + sorted(
        osp.relpath(p, REPO).replace(os.sep, '/') for p in pages)


def doc_commands(page: str) -> List[DocCommand]:
    """The commands of one page, with their blocks' marks."""
    with open(osp.join(REPO, page), encoding='utf-8') as f:
        lines = f.read().split('\n')
    commands, index = [], 0
    while index < len(lines):
        if not FENCE.match(lines[index]):
            index += 1
            continue
        above = index - 1
        while above >= 0 and not lines[above].strip():
            above -= 1
        mark = MARKER.search(lines[above]) if above >= 0 else None
        start = index + 1
        index = start
        while index < len(lines) and not lines[index].startswith('```'):
            index += 1
        first, pending = start, ''
        for number in range(start, index):
            if not pending:
                first = number
            line = lines[number]
            if line.rstrip().endswith('\\'):
                pending += line.rstrip()[:-1] + ' '
                continue
            words = shlex.split(pending + line, comments=True)
            pending = ''
            if words:
                commands.append(DocCommand(page, first + 1, words,
                                           mark.group(1) if mark else None))
        index += 1
    return commands


def all_commands() -> List[DocCommand]:
    return [c for page in doc_pages() for c in doc_commands(page)]


# ---------------------------------------------------------------------------
# Commands run here


@dataclass
class Run:
    """A doc command that this test runs.

    Attributes:
        command (str): The command as the docs write it (words joined by
            one space, continuation lines joined).
        check (callable): Receives the scratch folder (the clone) after the
            run; asserts what the command wrote.
        substitute (dict): Words of the command replaced before running:
            doc word -> the word to run (paths relative to the clone).
            Say why in a comment.
        prepare (callable, optional): Called with the clone before the run.
    """
    command: str
    check: Callable[[str], None]
    substitute: Dict[str, str] = field(default_factory=dict)
    prepare: Optional[Callable[[str], None]] = None


def _conversion(root: str) -> dict:
    import json
    with open(osp.join(root, 'conversion.json')) as f:
        return json.load(f)


def _check_sample(clone):
    root = osp.join(clone, 'data', 'sample')
    # The official archives that get_started.md names, among the others.
    assert {'1_DSM_normalisation.zip', '4_Ortho_RGBIR.zip',
            '5_Labels_all.zip', '5_Labels_all_noBoundary.zip'} <= set(
                os.listdir(osp.join(root, 'archives', 'potsdam')))
    tiles = _conversion(osp.join(root, 'potsdam'))['tiles']
    assert sorted(tiles) == ['2_10', '2_13', '3_11', '4_12', '4_14', '6_15',
                             '6_7', '7_8']


def _check_same_as_sample(dataset: str, sample_root: Callable[[str], str]):
    """The converter on the sample's archives writes the sample's arrays."""

    def check(clone):
        from mmseg_lanet.datasets.raster_io import read_raster
        ours = osp.join(clone, 'data', dataset)
        sample = osp.join(sample_root(clone), dataset)
        assert sorted(_conversion(ours)['tiles']) == sorted(
            _conversion(sample)['tiles'])
        for folder in ('img_dir', 'dsm_dir', 'ann_eroded_dir'):
            for split in ('train', 'val'):
                names = sorted(os.listdir(osp.join(sample, folder, split)))
                assert sorted(os.listdir(osp.join(ours, folder,
                                                  split))) == names
                np.testing.assert_array_equal(
                    read_raster(osp.join(ours, folder, split, names[0])),
                    read_raster(osp.join(sample, folder, split, names[0])))

    return check


def _check_rewrite(clone):
    from mmseg_lanet.datasets.raster_io import is_windowed
    root = osp.join(clone, 'data', 'potsdam')
    manifest = _conversion(root)
    assert manifest['layout'] == 'windowed'
    for record in manifest['tiles'].values():
        for name in record['files']:
            assert is_windowed(osp.join(root, name)), name


def _random_checkpoint(clone):
    """The docs' checkpoint comes from 100 training iterations: an untrained
    one of the same config stands in (the command, not the accuracy, is
    under test)."""
    from benchmarks.predict_benchmark import save_random_checkpoint
    folder = osp.join(clone, 'work_dirs', 'sample')
    os.makedirs(folder, exist_ok=True)
    save_random_checkpoint('r18', osp.join(folder, 'iter_100.pth'))


def _check_map(clone):
    import rasterio
    maps = osp.join(clone, 'maps')
    assert sorted(os.listdir(maps)) == ['2_13.tif', '2_13_colour.png']
    with rasterio.open(osp.join(maps, '2_13.tif')) as ds:
        labels = ds.read(1)
        assert ds.shape == (320, 320) and ds.nodata == 255
    assert labels.dtype == np.uint8 and labels.max() <= 5


def _check_figure(clone):
    import cv2
    picture = cv2.imread(osp.join(clone, 'figure.png'))
    # Panels of the 320 x 320 tile: reference, branches, fused output.
    assert picture is not None and min(picture.shape[:2]) >= 320


def _sample(clone):
    return osp.join(clone, 'data', 'sample')


#: In this order, in one clone: later commands use what earlier ones wrote.
RUN = [
    Run('python tools/make_sample_data.py --dataset potsdam --out '
        'data/sample', _check_sample),
    Run('python tools/dataset_converters/potsdam.py /path/to/potsdam_zips '
        '-o data/potsdam',
        _check_same_as_sample('potsdam', _sample),
        # The ISPRS archives: the sample's, written as the official ones.
        substitute={'/path/to/potsdam_zips': 'data/sample/archives/potsdam'}),
    Run('python tools/dataset_converters/vaihingen.py '
        '/path/to/vaihingen_zips -o data/vaihingen',
        _check_same_as_sample('vaihingen',
                              lambda clone: osp.join(clone, 'session')),
        # The session's synthetic sample (tests/conftest.py), shared with
        # other tests: its archives are written as the official ones.
        substitute={'/path/to/vaihingen_zips': 'session/archives/vaihingen'}),
    Run('python tools/dataset_converters/rewrite_layout.py data/potsdam',
        _check_rewrite),
    Run('python tools/predict.py ' + SAMPLE_CONFIG +
        ' work_dirs/sample/iter_100.pth '
        'data/sample/potsdam/img_dir/val/2_13.tif '
        '--dsm data/sample/potsdam/dsm_dir/val/2_13.tif --out-dir maps '
        '--mode bounded --window 128 --stride 85',
        _check_map, prepare=_random_checkpoint),
    Run('python tools/analysis_tools/branch_figure.py CONFIG CHECKPOINT '
        'IMAGE --dsm DSM --label LABEL.png --out figure.png',
        _check_figure,
        # The placeholders: the sample's config, tile 2_13 and the
        # untrained checkpoint of the command above.
        substitute=dict(CONFIG=SAMPLE_CONFIG,
                        CHECKPOINT='work_dirs/sample/iter_100.pth',
                        IMAGE=SAMPLE_TILE.format('img_dir'),
                        DSM=SAMPLE_TILE.format('dsm_dir'),
                        **{'LABEL.png': SAMPLE_TILE.format('ann_dir')})),
]

# ---------------------------------------------------------------------------
# Commands an existing test runs


@dataclass
class Covered:
    """A doc command that another test runs: ``test`` is
    ``tests/...py::test_function``; ``differs`` says how its run differs
    from the docs' (smaller model, data, schedule)."""
    command: str
    test: str
    differs: str


TRAIN_TEST_RESUME = ('tests/test_tools/test_train_test_resume.py::'
                     'test_train_test_resume_with_our_tools')
COVERED = [
    Covered('python tools/train.py ' + SAMPLE_CONFIG, TRAIN_TEST_RESUME,
            'a tiny model, 4 iterations; on a fresh folder, so the config '
            'writes its sample as on a fresh clone'),
    Covered('python tools/test.py ' + SAMPLE_CONFIG + ' work_dirs/lanet_r18'
            '-d32_1xb4-200i_sample-potsdam-rgbir-dsm-256x256/iter_200.pth '
            '--out work_dirs/pred', TRAIN_TEST_RESUME,
            'the checkpoint of its 4-iteration run'),
    Covered('python tools/train.py ' + SAMPLE_CONFIG + ' --resume '
            '--cfg-options train_cfg.max_iters=300', TRAIN_TEST_RESUME,
            'resumes at iteration 4 up to 6'),
    Covered('python tools/predict.py CONFIG CHECKPOINT ortho.tif --dsm '
            'ndsm.tif --out-dir maps',
            'tests/test_tools/test_predict_tool.py::'
            'test_predict_folder_then_rerun',
            'a tiny model on the sample tiles'),
    Covered('python tools/test.py CONFIG CHECKPOINT --confusion-matrix '
            'confusion.png',
            'tests/test_tools/test_predict_tool.py::'
            'test_test_tool_blend_mode_and_confusion_matrix',
            'a tiny model on the sample, blend mode'),
    Covered('python tools/analysis_tools/benchmark_data.py '
            'configs/lanet/lanet_r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512'
            '.py --generate --before --gpu-rate 220',
            'tests/test_tools/test_benchmark_data.py::'
            'test_benchmark_runs_before_and_after_on_generated_tiles',
            'a 64 x 64 tile, 32 x 32 crops, 4 samples'),
] + [
    Covered('python tools/analysis_tools/benchmark_predict.py ' + args,
            'tests/test_tools/test_benchmark_predict.py::'
            'test_small_benchmark', 'a 64 x 64 raster, 32 x 32 windows')
    for args in (
        '--sizes 2048 12000 --methods predict --model tiny --threads 1',
        '--sizes 2048 --methods slide blend predict --model tiny --threads 1',
        '--sizes 2048 --methods predict slide blend --model r50 --threads 2')
]

# ---------------------------------------------------------------------------
# The rule and its message


def _how_to_fix(command: DocCommand) -> str:
    reasons = '\n'.join(f'         <!-- docs-test: {r} -->   -- {why}'
                        for r, why in REASONS.items()) + (
        '\n         <!-- docs-test: covered by tests/PATH.py::test_name -->'
        '   -- that test runs\n            the block\'s tools with its flags '
        '(checked)')
    return (
        f'{command.page}:{command.line}: the command\n'
        f'    {command.text}\n'
        'is neither run nor covered by a test, nor marked. Do ONE of:\n'
        f'  1. it takes seconds on a CPU: add a Run(...) for it to RUN in '
        f'{THIS}\n'
        '     (the command as written, `substitute` for words that need '
        'files made here, and a check of what it wrote);\n'
        '  2. a test already runs this tool with these flags (on smaller '
        f'inputs): add a Covered(...) to COVERED in {THIS}\n'
        '     naming that test as tests/...py::test_name and how its run '
        'differs;\n'
        '  3. the suite cannot run it: put one of these lines just above '
        'its ```shell block:\n' + reasons + '\n'
        '     (its tool must still exist and accept its --flags; put '
        'runnable commands in a block of their own).')


def test_every_doc_command_is_run_covered_or_marked():
    commands = all_commands()
    assert len(commands) > 10, 'no commands found: is the parser broken?'
    ran = {r.command for r in RUN}
    covered = {c.command for c in COVERED}
    assert not ran & covered, f'both run and covered: {ran & covered}'
    problems = []
    for command in commands:
        if command.reason is not None:
            if command.reason not in REASONS and not \
                    COVERED_BY_TEST.fullmatch(command.reason):
                problems.append(
                    f'{command.page}:{command.line}: unknown reason '
                    f'{command.reason!r} in <!-- docs-test: ... -->; use '
                    f'one of {sorted(REASONS)} or "covered by '
                    'tests/PATH.py::test_name"')
            elif command.text in ran | covered:
                problems.append(
                    f'{command.page}:{command.line}: `{command.text}` is '
                    f'in RUN or COVERED of {THIS} and marked '
                    f'{command.reason!r}: remove the mark')
        elif command.text not in ran | covered:
            problems.append(_how_to_fix(command))
    in_docs = {c.text for c in commands}
    for entry in RUN + COVERED:
        if entry.command not in in_docs:
            problems.append(
                f'{THIS}: `{entry.command}` is in '
                f'{type(entry).__name__.upper()} but in no page of the '
                'docs: update it to the docs\' new wording, or remove it')
    assert not problems, '\n\n'.join(problems)


@pytest.fixture(scope='module')
def clone(tmp_path_factory, sample_data_root):
    """A folder laid out as a clone: configs/ and tools/ of this
    repository, nothing written yet (no data/, work_dirs/); and
    ``session``, the session's synthetic samples."""
    root = str(tmp_path_factory.mktemp('clone'))
    for name in ('configs', 'tools'):
        os.symlink(osp.join(REPO, name), osp.join(root, name))
    os.symlink(sample_data_root, osp.join(root, 'session'))
    return root


def run_tool(words: List[str], cwd: str) -> str:
    """``python TOOL ARGS...`` in this process, in ``cwd``; returns what it
    printed. A non-zero exit fails with that output."""
    assert words[0] == 'python' and words[1].endswith('.py'), words
    out = io.StringIO()
    saved_argv, saved_cwd = sys.argv, os.getcwd()
    sys.argv = words[1:]
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out):
            try:
                runpy.run_path(osp.join(REPO, words[1]), run_name='__main__')
            except SystemExit as done:
                if done.code not in (0, None):
                    raise AssertionError(
                        f'{" ".join(words)} exited with {done.code}:\n'
                        f'{out.getvalue()}') from None
    finally:
        sys.argv = saved_argv
        os.chdir(saved_cwd)
    return out.getvalue()


def _run(entry: Run, clone: str) -> None:
    if entry.prepare:
        entry.prepare(clone)
    run_tool([entry.substitute.get(w, w) for w in entry.command.split(' ')],
             clone)


_DONE: Dict[str, set] = {}


@pytest.mark.parametrize('entry', RUN, ids=[r.command.split()[1]
                                            for r in RUN])
def test_run_doc_command(entry, clone):
    # The commands before it first, once (a test selected alone finds
    # what they write).
    done = _DONE.setdefault(clone, set())
    for earlier in RUN[:RUN.index(entry)]:
        if earlier.command not in done:
            _run(earlier, clone)
            done.add(earlier.command)
    _run(entry, clone)
    done.add(entry.command)
    entry.check(clone)


def _test_module(test: str):
    """The strings and imported modules of a test's module (and of the
    ``tests/_*.py`` helpers it imports); checks the test function exists
    (``path::name``; a bare path names the module)."""
    path, _, name = test.partition('::')
    assert osp.isfile(osp.join(REPO, path)), f'{test}: no such file'
    with open(osp.join(REPO, path), encoding='utf-8') as f:
        tree = ast.parse(f.read())
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert not name or name in functions, f'{test}: no such test function'
    strings, modules = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            strings.add(node.value)
        elif isinstance(node, ast.Import):
            modules.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and \
                node.module.startswith('_'):
            for folder in (osp.dirname(path), 'tests'):
                helper = osp.join(REPO, folder, node.module + '.py')
                if osp.isfile(helper):
                    strings |= _test_module(osp.relpath(helper, REPO))[0]
                    break
    return strings, modules


def covering_problems(command: 'DocCommand', test: str) -> List[str]:
    """Why ``test`` does not run ``command``'s tool with its flags (and its
    ``--cfg-options`` keys); empty when it does, or when the command runs
    no tool of this repository (``wait``, ``export``)."""
    if command.tool is None:
        return []
    strings, modules = _test_module(test)
    tool = osp.basename(command.tool)
    if not (tool in strings or osp.splitext(tool)[0] in modules
            or any(s.endswith('/' + tool) for s in strings)):
        return [f'{test} does not run {command.tool}']
    problems = [f'{test} does not pass {flag} to {command.tool}'
                for flag in command.flags() if flag not in strings]
    words = command.words
    if '--cfg-options' in words:
        keys = [w.split('=')[0] + '=' for w in
                words[words.index('--cfg-options') + 1:] if '=' in w]
        problems += [f'{test} sets no {key}...' for key in keys
                     if not any(s.startswith(key) for s in strings)]
    return problems


@pytest.mark.parametrize('entry', COVERED, ids=[c.command.split()[1]
                                                for c in COVERED])
def test_covering_test_runs_the_tool_with_those_flags(entry):
    command = DocCommand('', 0, entry.command.split(' '), None)
    problems = covering_problems(command, entry.test)
    assert not problems, f'docs: `{entry.command}`:\n' + '\n'.join(problems)


_HELP: Dict[str, str] = {}


def tool_help(tool: str) -> str:
    if tool not in _HELP:
        _HELP[tool] = run_tool(['python', tool, '--help'], REPO)
    return _HELP[tool]


def test_marked_commands_name_real_tools_and_flags():
    problems = []
    for command in all_commands():
        if command.reason == 'covered by .ci/run':
            with open(osp.join(REPO, '.ci', 'run')) as f:
                lines = {' '.join(shlex.split(ln, comments=True))
                         for ln in f}
            if command.text not in lines:
                problems.append(f'{command.page}:{command.line}: '
                                f'`{command.text}` is not a line of .ci/run')
        by_test = COVERED_BY_TEST.fullmatch(command.reason or '')
        if by_test:
            problems += [f'{command.page}:{command.line}: {problem}'
                         for problem in covering_problems(
                             command, by_test.group(1))]
        if command.reason == 'synopsis' and not any(
                re.fullmatch(r'\[?[A-Z][A-Z_]+\.?\w*\]?', w)
                for w in command.words[1:]):
            problems.append(f'{command.page}:{command.line}: '
                            f'`{command.text}` is marked synopsis but has no '
                            'placeholder (CONFIG, CHECKPOINT, ...): run it or '
                            'cover it')
        if command.reason is None or command.tool is None:
            continue
        if not osp.isfile(osp.join(REPO, command.tool)):
            problems.append(f'{command.page}:{command.line}: '
                            f'{command.tool} does not exist')
        elif command.tool.endswith('.py'):
            usage = tool_help(command.tool)
            problems += [f'{command.page}:{command.line}: {command.tool} '
                         f'has no {flag}' for flag in command.flags()
                         if not re.search(rf'{flag}(?![\w-])', usage)]
        elif command.words[0] == command.tool and not os.access(
                osp.join(REPO, command.tool), os.X_OK):
            problems.append(f'{command.page}:{command.line}: '
                            f'{command.tool} is not executable')
    installs = [c for c in all_commands() if c.reason == 'installs packages']
    with open(osp.join(REPO, 'setup.py')) as f:
        setup = f.read()
    for command in installs:
        for extra in re.findall(r'\.\[(\w+)\]', command.text):
            if f"'{extra}':" not in setup:
                problems.append(f'{command.page}:{command.line}: setup.py '
                                f'has no extra {extra!r}')
    assert not problems, '\n'.join(problems)

