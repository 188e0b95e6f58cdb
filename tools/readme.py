"""Write README.md from nbs/index.ipynb, as `nbdev-readme` would without Quarto (which it needs, and which cannot be
installed everywhere): markdown cells as they are, code cells as Python blocks, `#| hide` cells and `#|` directive
lines left out, outputs not shown.

    python tools/readme.py           # write README.md
    python tools/readme.py --check   # exit 1, with a diff, if README.md is not what index.ipynb says (CI runs this)
"""
import difflib, json, sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]

def render(nb:Path)->str:
    "The markdown of notebook `nb`"
    parts = []
    for c in json.loads(nb.read_text(encoding='utf-8'))['cells']:
        src = ''.join(c['source']).strip('\n')
        lines = src.splitlines()
        if c['cell_type'] == 'markdown': parts.append(src)
        elif c['cell_type'] == 'code':
            if any(l.replace(' ', '') == '#|hide' for l in lines): continue
            code = '\n'.join(l for l in lines if not l.startswith('#|')).strip('\n')
            if code: parts.append(f'```python\n{code}\n```')
    return '\n\n'.join(parts) + '\n'

def main():
    out,readme = render(root/'nbs'/'index.ipynb'),root/'README.md'
    if '--check' not in sys.argv: readme.write_text(out, encoding='utf-8'); return 0
    have = readme.read_text(encoding='utf-8') if readme.exists() else ''
    if have == out: return 0
    sys.stdout.writelines(list(difflib.unified_diff(have.splitlines(True), out.splitlines(True), 'README.md', 'from nbs/index.ipynb'))[:60])
    print("README.md differs from nbs/index.ipynb: edit the index and run `python tools/readme.py`")
    return 1

if __name__ == '__main__': sys.exit(main())
