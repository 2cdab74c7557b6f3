#!/usr/bin/env python3
"""Module dependencies of the `strata` crate (src/) and their cycles.

    python3 scripts/module_deps.py [--list] [--level N] [SRC_DIR]

Reads every `crate::...`, `super::...` and `self::...` path in src/ (use lines and inline
paths, comments and strings skipped) and resolves it to the module it names. An edge from
module A to module B counts between the two siblings that contain them under their lowest
common ancestor (`exec::read::select` -> `exec::plan::restrict` is `exec::read` ->
`exec::plan`); a child using its parent (or the reverse) is not an edge, since a parent
declares its children. Child modules named `tests` (and `*_tests`) are skipped: test code
may use anything.

Prints the cycles (strongly connected components of more than one module) per level and
exits 1 if there is any besides the KNOWN ones (listed in ARCHITECTURE.md as remaining;
a known cycle that gains a module fails too). `--list` also prints every module's
dependencies.
"""

import os
import re
import sys
from collections import defaultdict

# Cycles that remain outside `exec` (ARCHITECTURE.md, "Module dependencies"): each is
# the exact set of modules of one strongly connected component.
KNOWN = {
}

PATH_RE = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+|::\{)")
BRACE_USE_RE = re.compile(r"\buse\s+(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*)\};", re.S)


def strip_comments_and_strings(text):
    """Blanks out comments, string and char literals so paths in prose do not count."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            end = text.find('"' + m.group(1), i + len(m.group(0)))
            i = n if end < 0 else end + 1 + len(m.group(1))
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]) or re.match(r"'\\[xu]", text[i:i + 3]):
            j = text.find("'", i + 2)
            i = j + 1
            out.append("' '")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def module_of(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] == "mod" or rel == ["lib"] or rel == ["main"]:
        rel = rel[:-1]
    return tuple(rel)


def is_test_module(module):
    return any(part == "tests" or part.endswith("_tests") for part in module)


def resolve(module, anchor, segments, modules):
    """The longest known module prefix of the path (anchor::segments) used in `module`."""
    if anchor == "crate":
        base = ()
    elif anchor == "self":
        base = module
    else:
        base = module[:-1]
        while segments and segments[0] == "super":
            base, segments = base[:-1], segments[1:]
    full = base + tuple(segments)
    for k in range(len(full), -1, -1):
        if full[:k] in modules:
            return full[:k]
    return None


def collect(src):
    files = {}
    for root, _, names in os.walk(src):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(root, name)
                files[module_of(src, path)] = path
    modules = set(files)
    deps = defaultdict(set)
    for module, path in files.items():
        if is_test_module(module):
            continue
        with open(path, encoding="utf-8") as f:
            text = strip_comments_and_strings(f.read())
        # `#[cfg(test)] mod tests { ... }` blocks: drop from the attribute to the end of file
        # only when the block is last (the project's convention).
        m = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text)
        if m:
            text = text[:m.start()]
        targets = []
        for m in BRACE_USE_RE.finditer(text):
            prefix = [s for s in m.group(2).split("::") if s]
            for item in re.split(r",(?![^{]*\})", m.group(3)):
                head = item.strip().split("::")[0].split(" ")[0].strip("{} ")
                if head and head != "self":
                    targets.append((m.group(1), prefix + [head]))
                elif head == "self":
                    targets.append((m.group(1), prefix))
        text = BRACE_USE_RE.sub("", text)
        for m in PATH_RE.finditer(text):
            segments = [s for s in m.group(2).split("::") if s and s != "{"]
            targets.append((m.group(1), segments))
        for anchor, segments in targets:
            target = resolve(module, anchor, segments, modules)
            if target is not None and target != module:
                deps[module].add(target)
    return modules, deps


def sibling_edges(modules, deps):
    """Edges between siblings: (parent, from_child, to_child)."""
    edges = defaultdict(set)
    for a, targets in deps.items():
        for b in targets:
            k = 0
            while k < min(len(a), len(b)) and a[k] == b[k]:
                k += 1
            if k == len(a) or k == len(b):
                continue  # ancestor or descendant
            edges[a[:k]].add((a[:k + 1], b[:k + 1]))
    return edges


def strongly_connected(nodes, edges):
    index, low, stack, on_stack, result, counter = {}, {}, [], set(), [], [0]
    graph = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                result.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return result


def name(module):
    return "::".join(module) or "crate"


def main(argv):
    list_deps = "--list" in argv
    args = [a for a in argv if not a.startswith("--")]
    src = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    modules, deps = collect(src)
    if list_deps:
        for module in sorted(modules):
            if is_test_module(module) or not module:
                continue
            print(f"{name(module)}: {', '.join(name(t) for t in sorted(deps[module])) or '-'}")
    cycles = []
    for parent, edges in sorted(sibling_edges(modules, deps).items()):
        children = {m for m in modules if len(m) == len(parent) + 1 and m[:len(parent)] == parent}
        children |= {a for a, _ in edges} | {b for _, b in edges}
        for comp in strongly_connected(children, edges):
            inner = sorted((name(a), name(b)) for a, b in edges if a in comp and b in comp)
            cycles.append((name(parent), [name(c) for c in comp], inner))
    new = 0
    for parent, comp, inner in cycles:
        known = frozenset(comp) in KNOWN
        new += not known
        print(f"{'known' if known else 'NEW'} cycle under {parent}: {' <-> '.join(comp)}")
        for a, b in inner:
            print(f"    {a} -> {b}")
    where = os.path.normpath(src)
    print(f"{len(modules)} modules in {where}: {len(cycles) - new} known dependency cycle(s), {new} new")
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
