#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target (tests/fuzz/corpus/<target>/): small,
meaningful inputs. Run again after changing it; files it does not write (inputs a fuzzer
found) stay."""
import os
import struct

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')


def i64(v): return b'\x01' + struct.pack('<q', v)
def f64(v): return b'\x02' + struct.pack('<d', v)
def blob(tag, b): return bytes([tag]) + struct.pack('<Q', len(b)) + b
def s(t): return blob(3, t.encode() + b'\0')
def by(b): return blob(4, b)
def pk(b): return blob(5, b)
def frame(b): return struct.pack('<I', len(b)) + b
def req(obj, op, *args): return i64(obj) + i64(op) + i64(0) + i64(1) + b''.join(args)


corpus = {
    'pack': {
        'empty': b'', 'int': i64(42), 'float': f64(2.5), 'str': s('text'),
        'bytes': by(b'\0\1\2'), 'mixed': i64(1) + s('a') + f64(-0.0) + by(b''),
        'nested': pk(i64(7) + pk(s('deep'))), 'truncated': i64(1)[:5],
        'badstr': blob(3, b'no nul'),
        'handle': blob(6, struct.pack('<II', 1, 1) + bytes(72)),
        'proxy': blob(7, b'proxy body'),
    },
    'mgr_preauth': {
        'answer': frame(bytes(72)), 'short': frame(b'abc'), 'oversized': struct.pack('<I', 1000),
        'truncated': frame(bytes(72))[:20], 'empty': b'',
    },
    'mgr_request': {
        'create_dict_set_get': frame(req(0, 1, i64(1), i64(0), i64(0), i64(0))) +
        frame(req(1, 20, by(i64(1)), by(s('one')))) + frame(req(1, 21, by(i64(1)))),
        'create_list': frame(req(0, 1, i64(3), i64(0), i64(0), i64(0))) +
        frame(req(1, 40, by(i64(5)))) + frame(req(1, 42, i64(-1))),
        'register_lookup': frame(req(0, 1, i64(5), i64(0), i64(0), i64(0))) +
        frame(req(0, 2, s('name'), i64(1))) + frame(req(0, 3, s('name'))),
        'batch': frame(req(0, 5, pk(req(0, 1, i64(1), i64(0), i64(0), i64(0))))),
        'malformed': frame(b'\x01\x02'), 'queue_get': frame(req(0, 1, i64(4), i64(0), i64(0), i64(0))) + frame(req(1, 61)),
        'shutdown': frame(req(0, 4)),
    },
    'address': {
        'tcp': b'127.0.0.1:0', 'name': b'localhost:50000', 'v6': b'[::1]:8080',
        'empty_host': b':1234', 'local': b'local:mproc-test', 'bad_port': b'host:65536',
        'unix_path': b'local:/tmp/x.sock', 'zero_port': b'host:007',
    },
    'cmdline': {
        'plain': b'prog\0a\0b', 'spaces': b'C:\\x y\\p.exe\0with space\0\0',
        'quotes': b'p\0say "hi"\0\\"\0a\\\\b', 'trailing_slashes': b'p\0dir\\\0x y\\\\',
        'utf8': 'p\0\u00e9t\u00e9\0\u4e2d \u6587'.encode(),
    },
    'subprocess_env': {
        'replace': b'\x01A=1\0B=2\0A=3', 'extend': b'\x02PATH=/bin\0NEW=x',
        'inherit': b'\x00X=1', 'bad': b'\x01NOEQUALS', 'case': b'\x01path=a\0PATH=b',
        'empty_value': b'\x01E=\0=bad',
    },
}
for target, files in corpus.items():
    os.makedirs(os.path.join(root, target), exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(root, target, name), 'wb') as f:
            f.write(data)
