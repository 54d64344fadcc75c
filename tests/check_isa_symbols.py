#!/usr/bin/env python3
"""Checks that each compiled copy of tensor/cpu/vector_kernels.cpp defines nothing the linker
could mix up with another copy: its one global symbol is its level's table(), and it defines no
weak symbol (an inline function or template built for AVX-512 that could stand in for the
baseline's copy and crash a CPU without AVX-512). Type descriptions (typeinfo, emitted by
UBSan) are data, the same in every copy, and allowed.

  check_isa_symbols.py OBJECT...
"""
import re
import subprocess
import sys


def problems(path):
    out = subprocess.run(["nm", "--defined-only", "-C", path], check=True, capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) < 3:
            continue
        kind, name = parts[1], parts[2]
        if name.startswith("typeinfo"):
            continue  # data describing a function type (UBSan's checks), the same bytes in every copy
        if kind in "VvWwui":
            found.append(f"weak or unique symbol {name!r} ({kind})")
        elif kind.isupper() and not re.fullmatch(r"rg::cpu::isa_\w+::table\(\)", name):
            found.append(f"global symbol {name!r} ({kind}) outside the level's table()")
    return found


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    failed = False
    for path in sys.argv[1:]:
        found = problems(path)
        print(f"{path}: {'ok' if not found else str(len(found)) + ' problem(s)'}")
        for p in found:
            print("  " + p)
        failed |= bool(found)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
