#!/usr/bin/env python3
"""Fails when Doxygen found a public function without a comment.

    doc/manual/check.py WARNINGS_FILE

Reads doxygen's warnings (doc/manual/Doxyfile.in: WARN_LOGFILE); a function that is not
documented fails the check, other warnings are printed and counted.
"""
import sys

with open(sys.argv[1], encoding='utf-8') as f:
    warnings = [l.rstrip() for l in f if 'warning:' in l]
functions = [w for w in warnings if '(function)' in w and 'is not documented' in w]
for w in warnings:
    print(w)
print(f'docs: {len(warnings)} warnings, {len(functions)} about an undocumented public function')
sys.exit(1 if functions else 0)
