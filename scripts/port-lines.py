#!/usr/bin/env python3
"""Python lines of each seed program against the C lines of its port in examples/.

    scripts/port-lines.py [--rev REV | --both REV] [--markdown-out FILE] [--seeds DIR]

Reads examples/ports.txt (example, seed file, line ranges) and prints a Markdown table of
Python lines, C lines and C/Python per example, then how many are within 2x and the median.
--rev REV: the C files as they were at git revision REV (git show REV:examples/<name>.c).
--both REV: C lines at REV and now side by side ("-" where a file did not exist at REV).
--markdown-out FILE: the table goes to FILE, not stdout. --seeds DIR: where the seeds are.

Python lines: not blank and not only a # comment. A string standing alone as a statement
(a docstring, or a triple-quoted block that shows output or comments code out) counts as
a comment on every line it spans; pass is code. Indentation does not matter (the seeds
indent their code inside the prose); CRLF and odd whitespace (U+3000, NBSP) are handled.
C lines: not blank and not only comment (/* */, //, or inside a /* */ comment); braces alone
on a line, #include and other preprocessor lines count.
"""
import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STRING_START = re.compile(r"[rRbBuUfF]{0,2}('''|\"\"\"|'|\")")


def string_end(line, i, quote):
    """Index just past the quote that closes a string, from line[i]; -1 if the line ends."""
    while i < len(line):
        if line.startswith(quote, i):
            return i + len(quote)
        i += 2 if line[i] == "\\" else 1
    return -1


def python_lines(lines):
    """Code lines of Python source: see the module docstring."""
    count, quote, string_is_code, depth = 0, None, False, 0
    for line in lines:
        code, i = quote is not None and string_is_code, 0
        while i < len(line):
            if quote:  # in a triple-quoted string begun on an earlier line
                end = string_end(line, i, quote)
                if end < 0:
                    break
                i, quote = end, None
            elif line[i] == "#":
                break
            elif (m := STRING_START.match(line, i)) and not line[i - 1:i].isalnum():
                code = string_is_code = code or depth > 0  # else a string standing alone
                i = string_end(line, m.end(), m.group(1))
                if i < 0:
                    quote = m.group(1) if len(m.group(1)) == 3 else None
                    break
            else:
                if not line[i].isspace():
                    code = True
                    depth += (line[i] in "([{") - (line[i] in ")]}")
                i += 1
        count += code
    return count


def c_lines(text):
    """Code lines of C source: see the module docstring."""
    count, in_comment = 0, False
    for line in text.splitlines():
        code, i, quote = False, 0, None
        while i < len(line):
            two = line[i:i + 2]
            if in_comment:
                if two == "*/":
                    in_comment, i = False, i + 1
            elif quote:  # in a string or character literal
                if line[i] == "\\":
                    i += 1
                elif line[i] == quote:
                    quote = None
            elif two == "//":
                break
            elif two == "/*":
                in_comment, i = True, i + 1
            elif not line[i].isspace():
                code, quote = True, (line[i] if line[i] in "\"'" else None)
            i += 1
        count += code
    return count


def git(*args):
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                          encoding="utf-8")


def c_source(name, rev):
    """The text of examples/<name>.c, now or at rev; None if there is no such file."""
    if rev is None:
        path = ROOT / "examples" / (name + ".c")
        return path.read_text(encoding="utf-8") if path.exists() else None
    res = git("show", f"{rev}:examples/{name}.c")
    return res.stdout if res.returncode == 0 else None


def read_ports(seeds):
    """(name, "seed ranges", Python lines) for each line of examples/ports.txt."""
    for raw in (ROOT / "examples" / "ports.txt").read_text(encoding="utf-8").splitlines():
        fields = raw.split("#", 1)[0].split()
        if fields:
            name, seed, ranges = fields
            text = (seeds / seed).read_text(encoding="utf-8-sig").splitlines()
            lines = []
            for r in ranges.split(","):
                first, last = map(int, r.split("-"))
                lines += text[first - 1:last]
            yield name, f"{seed[:3]} {ranges}", python_lines(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", help="read the C files at this git revision")
    ap.add_argument("--both", metavar="REV", help="C lines at REV and now, side by side")
    ap.add_argument("--markdown-out", metavar="FILE", help="write the table to FILE")
    ap.add_argument("--seeds", type=Path, default=ROOT.parent / "shared" / "seeds",
                    help="where the seed files are (default: %(default)s)")
    args = ap.parse_args()
    revs = [args.both, None] if args.both else [args.rev]
    for rev in filter(None, revs):
        if git("rev-parse", "-q", "--verify", rev + "^{commit}").returncode != 0:
            sys.exit(f"port-lines: no revision {rev}")
    labels = [f" at {rev}" if rev else " now" if args.both else "" for rev in revs]

    head = ["example", "seed lines", "Python"]
    head += [f"{x}{at}" for at in labels for x in ("C", "C/Py")]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    ratios = [[] for _ in revs]
    for name, where, py in read_ports(args.seeds):
        row = [name, where, str(py)]
        for rev, rs in zip(revs, ratios):
            src = c_source(name, rev)
            c = None if src is None else c_lines(src)
            rs += [] if c is None else [c / py]
            row += ["-", "-"] if c is None else [str(c), f"{c / py:.2f}"]
        out.append("| " + " | ".join(row) + " |")
    out.append("")
    for at, rs in zip(labels, ratios):
        median = statistics.median(rs) if rs else 0
        out.append(f"C{at}: {sum(r <= 2.0 for r in rs)} of {len(rs)} ports are <= 2.0x Python;"
                   f" median ratio {median:.2f}")
    table = "\n".join(out) + "\n"
    if args.markdown_out:
        Path(args.markdown_out).write_text(table, encoding="utf-8")
    else:
        sys.stdout.write(table)


if __name__ == "__main__":
    main()
