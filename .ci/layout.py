#!/usr/bin/env python3
"""The layout rules of STYLE.md, checked: no file-level import cycles in the library (src/) or
the binary (src/bin/agent/), and no module name on one side that repeats one on the other.

Usage: python3 .ci/layout.py   (from the repository root; exits 1 naming what is wrong)
"""
import os, re, sys


def graph(root, rootfile, skip):
    """Module path -> set of module paths it imports, for the crate rooted at root/rootfile."""
    files = {}
    for dp, dn, fn in os.walk(root):
        dn[:] = [d for d in dn if os.path.join(dp, d) not in skip]
        for f in fn:
            if not f.endswith('.rs'): continue
            p = os.path.join(dp, f); rel = os.path.relpath(p, root)
            if rel == rootfile: mod = ()
            else:
                parts = rel[:-3].split('/')
                if parts[-1] == 'mod': parts = parts[:-1]
                mod = tuple(parts)
            files[mod] = p
    def strip_tests(src):
        src = re.sub(r'//[^\n]*', '', src)  # comments and doc comments: links are not imports
        src = re.sub(r'"(?:[^"\\]|\\.)*"', '""', src)  # string literals
        return re.sub(r'#\[cfg\(test\)\]\s*(?:mod \w+ \{.*|mod \w+;)', '', src, flags=re.S)
    srcs = {m: strip_tests(open(p).read()) for m, p in files.items()}
    # items defined and re-exported per module
    defined = {m: set(re.findall(r'^\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?(?:struct|enum|fn|trait|const|static|type|macro_rules!)\s+(\w+)', s, re.M)) for m, s in srcs.items()}
    reexp = {}
    def parse_use_tree(prefix, tree):
        """Yield full paths from a use tree string."""
        tree = tree.strip()
        m = re.match(r'^([\w:]*?)(?:::)?\{(.*)\}$', tree, re.S)
        if m:
            base = prefix + [x for x in m.group(1).split('::') if x]
            depth = 0; cur = ''
            for ch in m.group(2) + ',':
                if ch == '{': depth += 1
                if ch == '}': depth -= 1
                if ch == ',' and depth == 0:
                    if cur.strip(): yield from parse_use_tree(base, cur)
                    cur = ''
                else: cur += ch
            return
        tree = re.sub(r'\s+as\s+\w+$', '', tree)
        yield prefix + [x for x in tree.split('::') if x]
    uses = {}
    for m, s in srcs.items():
        lst = []
        for u in re.finditer(r'^\s*(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);', s, re.M):
            for path in parse_use_tree([], u.group(2)):
                lst.append((bool(u.group(1)), path))
        uses[m] = lst
    def child_mods(m):
        return {k[-1] for k in files if len(k) == len(m) + 1 and k[:len(m)] == m}
    def absolute(m, path):
        if not path: return None
        head = path[0]
        if head == 'crate': return list(path[1:])
        if head == 'self': return list(m) + list(path[1:])
        if head == 'super':
            base = list(m); p = list(path)
            while p and p[0] == 'super': base = base[:-1]; p = p[1:]
            return base + p
        if head in child_mods(m): return list(m) + list(path)
        return None  # extern crate
    def target(path, seen=0):
        """The file module defining what `path` names."""
        if path is None or seen > 20: return None
        for i in range(len(path), -1, -1):
            mod = tuple(path[:i])
            if mod in files:
                rest = path[i:]
                if not rest: return mod
                name = rest[0]
                if name in defined[mod]: return mod
                for pub, up in uses[mod]:
                    if pub and up and (up[-1] == name or (up[-1] == '*')):
                        t = target(absolute(mod, up), seen + 1)
                        if t is not None: return t
                return mod
        return None
    edges = {m: set() for m in files}
    for m, s in srcs.items():
        paths = [absolute(m, p) for pub, p in uses[m]]
        for r in re.finditer(r'\b((?:crate|super|self)(?:::\w+)+)', s):
            paths.append(absolute(m, r.group(1).split('::')))
        # `child::item` in code (no `use`): an import of that child.
        body = re.sub(r'^\s*(pub(\([^)]*\))?\s+)?(use|mod)\s+[^;]+;', '', s, flags=re.M)
        for c in child_mods(m):
            for r in re.finditer(r'(?<![:\w])' + c + r'((?:::\w+)+)', body):
                paths.append(list(m) + [c] + r.group(1).split('::')[1:])
        for ap in paths:
            t = target(ap)
            if t is None or t == m: continue
            # A module re-exporting its own child is not an import of it.
            edges[m].add(t)
    # drop parent->child edges that are only declarations/re-exports: keep only if the parent uses the child's items in code
    for m in files:
        for t in list(edges[m]):
            if len(t) == len(m) + 1 and t[:len(m)] == m:
                name = t[-1]
                body = re.sub(r'^\s*(pub(\([^)]*\))?\s+)?(use|mod)\s+[^;]+;', '', srcs[m], flags=re.M)
                if not re.search(r'\b' + name + r'::', body) and not any(not pub and p and p[0] in (name,'self') for pub, p in uses[m]):
                    edges[m].discard(t)
    return edges


def cycles(edges):
    index, low, st, on, sccs, c = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def strong(v):
        index[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
        for w in edges[v]:
            if w not in index:
                strong(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = st.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            sccs.append(comp)
    for v in edges:
        if v not in index:
            strong(v)
    return [s for s in sccs if len(s) > 1]


def name(x):
    return '/'.join(x) or '(root)'


def main():
    failed = False
    lib = graph('src', 'lib.rs', {'src/bin'})
    bin_ = graph('src/bin/agent', 'main.rs', set())
    for side, edges in (('library', lib), ('binary', bin_)):
        for comp in cycles(edges):
            print(f'{side}: import cycle: ' + ', '.join(sorted(name(x) for x in comp)))
            failed = True
    leaves = lambda edges: {m[-1] for m in edges if m}
    for repeated in sorted(leaves(lib) & leaves(bin_)):
        print(f'module name on both sides of the line: {repeated}')
        failed = True
    if failed:
        sys.exit(1)
    print(f'layout: {len(lib)} library and {len(bin_)} binary modules, no cycles, no repeated names')


main()
