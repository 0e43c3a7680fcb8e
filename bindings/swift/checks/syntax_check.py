"""Check: hand-written Swift (the facade, its tests) and Package.swift parse
without a syntax error under tree-sitter-swift. Not a compiler: it finds
syntax slips, not type errors. (The generated file is not checked here: the
grammar does not know `@_documentation` inside `#if`, and it is uniffi's.)"""

import sys

import tree_sitter
import tree_sitter_swift

parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_swift.language()))
bad = 0
for path in sys.argv[1:]:
    source = open(path, "rb").read()
    stack = [parser.parse(source).root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            line = source.split(b"\n")[node.start_point[0]].decode(errors="replace").strip()
            print(f"{path}:{node.start_point[0] + 1}: syntax error near: {line[:100]}")
            bad += 1
            continue
        stack.extend(node.children)
print(f"{len(sys.argv) - 1} files parsed, {bad} syntax errors")
sys.exit(1 if bad or len(sys.argv) < 2 else 0)
