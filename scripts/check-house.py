#!/usr/bin/env python3
"""Checks the house (doc/design.md) on a configured and built meson directory.

    scripts/check-house.py BUILD_DIR [--graph] [--format]

The layers. Two kinds of arrows between the library's files (api/, posix/, win32/):
  * calls: file A uses a symbol that file B defines, read from the object files with `nm`
    (what the compiler really emitted, macros and inline functions resolved);
  * includes: file A #includes file B, read from the sources.
It fails when two files reach each other through arrows of either kind (a circle), or when
an arrow runs from a lower layer to a higher one. --graph prints every call arrow.

The size: no source file of the library over MAX_LINES lines. The README's first program is
examples/first.c, which the tests run. The version is written in meson.build only.

--format: every C file of the project (library, tests, examples, bench) is as clang-format
formats it with the project's .clang-format.
"""
import json
import os
import re
import subprocess
import sys

# Layers, lowest first: a file may use its own layer and those below. The first pattern a
# path matches decides (patterns are path prefixes; a trailing '/' means a folder).
LAYERS = [
    ('libc-only base', ['api/src/base/error.c', 'api/src/base/memory.c']),
    ('OS primitives', ['posix/os.c', 'win32/os.c']),
    ('base', ['api/src/base/', 'api/src/platform.h']),
    ('backend', ['posix/', 'win32/']),
    ('objects', ['api/src/objects/']),
    ('modules', ['api/src/modules/']),
    ('pool and manager', ['api/src/pool/', 'api/src/manager/']),
    ('futures', ['api/src/futures/']),
]
LIBRARY = ('api/', 'posix/', 'win32/')
MAX_LINES = 1200
FORMATTED = ('api/', 'posix/', 'win32/', 'tests/', 'examples/', 'bench/')
PUBLIC = 'api/include/'  # public headers: below everything, may include only each other


def layer_of(path):
    for index, (_, patterns) in enumerate(LAYERS):
        for p in patterns:
            if path == p or (p.endswith('/') and path.startswith(p)):
                return index
    return None


def header_layer(path, root):
    """A folder's headers serve every file of the folder: the lowest layer among them."""
    folder = os.path.dirname(path)
    layers = [layer_of(os.path.join(folder, n)) for n in os.listdir(os.path.join(root, folder))]
    layers = [l for l in layers + [layer_of(path)] if l is not None]
    return min(layers) if layers else None


def call_arrows(build, root):
    """{(a, b): [symbols]} for every symbol a's object uses and b's object defines."""
    with open(os.path.join(build, 'compile_commands.json')) as f:
        commands = json.load(f)
    defined, used = {}, {}
    for c in commands:
        src = os.path.relpath(os.path.normpath(os.path.join(c['directory'], c['file'])), root)
        if not src.startswith(LIBRARY) or src in defined:
            continue  # one object per source (shared and static libraries share them)
        obj = os.path.join(c['directory'], c['output'])
        if not os.path.isfile(obj):
            sys.exit(f'check-house: {obj} is missing: build {build} first')
        out = subprocess.run(['nm', obj], capture_output=True, text=True, check=True).stdout
        d, u = set(), set()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in 'TDBRCVW':
                d.add(parts[2])
            elif len(parts) == 2 and parts[0] == 'U':
                u.add(parts[1])
        defined[src], used[src] = d, u
    owner = {}
    for src, syms in defined.items():
        for s in syms:
            owner.setdefault(s, src)
    arrows = {}
    for src, syms in used.items():
        for s in syms:
            dst = owner.get(s)
            if dst and dst != src:
                arrows.setdefault((src, dst), []).append(s)
    return arrows, sorted(defined)


def include_arrows(root):
    """{(a, b): ['#include']} for the library's quoted includes that resolve to a file."""
    arrows = {}
    search = ['api/include', 'api/src']
    for top in LIBRARY:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in files:
                if not name.endswith(('.c', '.h')):
                    continue
                path = os.path.relpath(os.path.join(dirpath, name), root)
                with open(os.path.join(root, path), encoding='utf-8') as f:
                    text = f.read()
                for inc in re.findall(r'^\s*#\s*include\s+"([^"]+)"', text, re.M):
                    here = os.path.dirname(path)
                    for base in [here] + search:
                        cand = os.path.normpath(os.path.join(base, inc))
                        if os.path.isfile(os.path.join(root, cand)):
                            arrows.setdefault((path, cand), []).append('#include')
                            break
    return arrows


def circles(nodes, edges):
    """Strongly connected components with more than one file (Tarjan)."""
    graph = {n: set() for n in nodes}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def readme_program_differs(root):
    """The README's first program must be examples/first.c, which the tests run."""
    with open(os.path.join(root, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    with open(os.path.join(root, 'examples', 'first.c'), encoding='utf-8') as f:
        program = f.read()
    if '```c\n' + program + '```\n' not in readme:
        return ['README.md: its first program is not examples/first.c (copy the file into it)']
    return []


def version_written_twice(root):
    """Each fact written once: the version is meson.build's project(version:) alone (the
    changelog may name a release)."""
    with open(os.path.join(root, 'meson.build'), encoding='utf-8') as f:
        version = re.search(r"version: '([0-9.]+)'", f.read()).group(1)
    files = subprocess.run(['git', '-C', root, 'ls-files'], capture_output=True, text=True).stdout
    out = []
    for rel in files.split():
        if rel in ('meson.build', 'CHANGELOG.md') or not rel.endswith(('.c', '.h', '.in', '.py', '.sh', '.txt', '.build', '.md')):
            continue
        path = os.path.join(root, rel)
        if not os.path.isfile(path):
            continue
        with open(path, encoding='utf-8', errors='replace') as f:
            if re.search(r'(?<![0-9.])' + re.escape(version) + r'(?![0-9])', f.read()):
                out.append(f'{rel}: writes the version {version} (meson.build has it; read '
                           'MPROC_VERSION_STRING or mproc_version())')
    return out


def unformatted(root):
    """The C files that clang-format would change."""
    tool = next((t for t in ('clang-format-14', 'clang-format')
                 if subprocess.run(['which', t], capture_output=True).returncode == 0), None)
    if not tool:
        return ['clang-format is not installed (scripts/setup.sh installs it)']
    files = []
    for top in FORMATTED:
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            files += [os.path.join(dirpath, n) for n in sorted(names) if n.endswith(('.c', '.h'))]
    out = []
    for path in files:
        with open(path, 'rb') as f:
            before = f.read()
        after = subprocess.run([tool, '--style=file', path], capture_output=True,
                               check=True).stdout
        if after != before:
            rel = os.path.relpath(path, root)
            out.append(f'{rel}: not formatted as .clang-format says (clang-format -i {rel})')
    return out


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip())
        return 2
    build = sys.argv[1]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    calls, sources = call_arrows(build, root)
    includes = include_arrows(root)
    if '--graph' in sys.argv:
        for (a, b), syms in sorted(calls.items()):
            print(f'{a} -> {b}: {" ".join(sorted(syms)[:8])}')
    problems = []
    for path in sources + sorted({p for pair in includes for p in pair}):
        if not path.startswith(PUBLIC) and layer_of(path) is None:
            problems.append(f'{path}: in no layer (add it to LAYERS in {sys.argv[0]})')
    arrows = dict(calls)
    for pair, why in includes.items():
        arrows.setdefault(pair, []).extend(why)
    for (a, b), why in sorted(arrows.items()):
        if b.startswith(PUBLIC):
            continue
        if a.startswith(PUBLIC):
            problems.append(f'{a} -> {b}: a public header includes a private one')
            continue
        la = layer_of(a)
        lb = header_layer(b, root) if b.endswith('.h') else layer_of(b)
        if la is not None and lb is not None and lb > la:
            problems.append(f'{a} ({LAYERS[la][0]}) -> {b} ({LAYERS[lb][0]}): a lower layer '
                            f'uses a higher one: {" ".join(sorted(why)[:6])}')
    for comp in circles(set(sources), [p for p in arrows if not p[1].startswith(PUBLIC)]):
        ties = [f'    {a} -> {b}: {" ".join(sorted(arrows[(a, b)])[:6])}'
                for (a, b) in sorted(arrows) if a in comp and b in comp]
        problems.append('circle: ' + ', '.join(comp) + '\n' + '\n'.join(ties))
    for path in sorted(sources + [b for (_, b) in includes if b.endswith('.h')]):
        with open(os.path.join(root, path), encoding='utf-8') as f:
            lines = sum(1 for _ in f)
        if lines > MAX_LINES:
            problems.append(f'{path}: {lines} lines (more than {MAX_LINES}): split it by role')
    if '--format' in sys.argv:
        problems += unformatted(root)
    problems += readme_program_differs(root)
    problems += version_written_twice(root)
    for p in problems:
        print(p)
    print(f'check-house: {len(sources)} files, {len(calls)} call arrows, '
          f'{len(includes)} include arrows, {len(problems)} problems')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
