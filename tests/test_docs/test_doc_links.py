"""Links between the docs pages, and the docs pages that code names, lead
somewhere: a moved or renamed page or heading fails here, naming the link."""
import glob
import os
import os.path as osp
import re

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAGES = ['README.md'] + sorted(
    osp.relpath(p, REPO)
    for pattern in ('docs/**/*.md', 'configs/*/README.md')
    for p in glob.glob(osp.join(REPO, pattern), recursive=True))
LINK = re.compile(r'\]\(([^)\s]+)\)|href="([^"]+)"')
# Docs paths that code mentions in text (error messages, docstrings).
NAMED_PAGE = re.compile(r'\bdocs/[\w/]+\.md\b')


def _without_code_blocks(text: str) -> str:
    return re.sub(r'^```.*?^```', '', text, flags=re.S | re.M)


def heading_anchors(path: str) -> set:
    """GitHub's anchors of a page's headings: lower case, punctuation
    dropped, spaces as hyphens."""
    with open(path, encoding='utf-8') as f:
        text = _without_code_blocks(f.read())
    return {
        re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')
        for heading in re.findall(r'^#+ (.*)$', text, flags=re.M)
    }


def test_relative_links_reach_a_file_and_heading():
    broken = []
    for page in PAGES:
        with open(osp.join(REPO, page), encoding='utf-8') as f:
            text = _without_code_blocks(f.read())
        for match in LINK.finditer(text):
            target = match.group(1) or match.group(2)
            if re.match(r'[a-z]+:', target):  # http:, https:, mailto:
                continue
            path, _, anchor = target.partition('#')
            full = osp.normpath(osp.join(REPO, osp.dirname(page), path))
            if path and not osp.exists(full):
                broken.append(f'{page}: {target} (no file {path})')
            elif anchor and anchor not in heading_anchors(
                    full if path else osp.join(REPO, page)):
                broken.append(f'{page}: {target} (no heading #{anchor})')
    assert not broken, 'broken links:\n' + '\n'.join(broken)


def test_docs_pages_named_in_code_exist():
    named = {}
    for folder in ('mmseg_lanet', 'tools', 'benchmarks', 'configs'):
        for path in glob.glob(osp.join(REPO, folder, '**', '*.py'),
                              recursive=True):
            with open(path, encoding='utf-8') as f:
                for page in NAMED_PAGE.findall(f.read()):
                    named.setdefault(page, osp.relpath(path, REPO))
    missing = [f'{path} names {page}' for page, path in sorted(named.items())
               if not osp.isfile(osp.join(REPO, page))]
    assert not missing, '\n'.join(missing)
    # The data root error points users to the data preparation page.
    assert named.get('docs/user_guides/data_preparation.md')


def test_layout_names_every_folder():
    """The Layout of get_started.md names each folder of the repository
    and of the package: a new one is added there too."""
    with open(osp.join(REPO, 'docs', 'get_started.md'),
              encoding='utf-8') as f:
        text = f.read()
    layout = text[text.index('## Layout'):]
    layout = layout[:layout.index('```', layout.index('```') + 3)]
    named = set(re.findall(r'^ *([\w.]+)/', layout, flags=re.M))
    folders = {
        name for root in (REPO, osp.join(REPO, 'mmseg_lanet'))
        for name in os.listdir(root)
        if osp.isdir(osp.join(root, name))
        and not name.startswith(('.', '_')) and name not in (
            'data', 'work_dirs', 'build', 'dist') and not name.endswith(
                '.egg-info')
    }
    assert folders - named == set(), (
        f'docs/get_started.md, Layout: add {sorted(folders - named)}')
