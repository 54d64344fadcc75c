#!/usr/bin/env python3
"""Keeps the guides true: every file, function, quoted line and command they name must exist and run.

    tests/check_docs.py --root REPO --build BUILD_DIR README.md docs/tour.md docs/extending.md bench/README.md \
        bench/RESULTS.md

What a guide may contain, and what is checked:
  `path/to/file.cpp`            a repository path (with a '/' and a known extension, or ending in
                                '/'): it must exist. A one-word folder (`images/`) is a folder the
                                tools make or the user gives when .gitignore or RUNTIME_FOLDERS
                                lists it; otherwise it must exist too.
  `path/to/file.cpp:name`       a file and a function, class, type or macro defined (or, in a
                                header, declared) in it: `name(` after a return type on a
                                line that reads as a signature (a call is not a
                                definition), `class|struct|enum name`, `using name =`, `#define
                                name`; for `A::b`, `A::b(` or b's signature in a file of class A.
  ```cpp from=path/to/file.cpp  a quotation: every non-blank line of the block must appear in the
                                file, in the same order (whitespace at the ends ignored).
  ```sh run                     commands: each line runs from the repository root with bash and
                                must exit 0 (and a doctest run must run some test case);
                                `build/` in them means the build directory given.
Everything else is prose. Exit 1 with one line per problem.
"""
import argparse
import os
import re
import subprocess
import sys

EXTENSIONS = ("h", "cpp", "cu", "cuh", "py", "sh", "md", "txt", "json", "safetensors")
PATH = r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+"
FILE_REF = re.compile(r"`(" + PATH + r"\.(?:" + "|".join(EXTENSIONS) + r"))(?::([A-Za-z_~][A-Za-z0-9_:~]*))?`")
DIR_REF = re.compile(r"`(" + PATH + r"/|[A-Za-z0-9_.-]+/)`")
FENCE = re.compile(r"^```(\S*)(.*)$")
# Folders that exist only once something runs: the training's outputs, the user's images.
RUNTIME_FOLDERS = {"tensorboard/", "images/", "gradcam/"}


def ignored_folders(root):
    """The one-word folders .gitignore lists (build outputs, run folders), as patterns."""
    path = os.path.join(root, ".gitignore")
    lines = open(path).read().split("\n") if os.path.isfile(path) else []
    return [re.escape(l.strip().lstrip("/")).replace(r"\*", ".*") for l in lines if l.strip().endswith("/")]


# Words that may stand before a call at the start of a line, where a return type stands before a definition.
NOT_A_TYPE = r"(?!(?:return|throw|new|delete|else|case|co_return|co_yield|co_await|sizeof|goto)\b)"
TYPE_WORDS = r"(?:[\w:<>,*&~\[\]]+\s+)"


def defines(source, name):
    """Whether `source` defines (or declares) `name`: see the module's docstring. A line that calls
    `name` is never its definition: a signature has a return type before the name (or, for A::b,
    starts the line and does not end in ';' as a call does)."""
    qualified = name.split("::")
    word = re.escape(qualified[-1])
    if len(qualified) > 1:
        member = re.compile(r"^\s*" + NOT_A_TYPE + TYPE_WORDS + r"*" + re.escape("::".join(qualified[-2:])) + r"\s*\(")
        for line in source.split("\n"):
            if member.search(line) and (not line.rstrip().endswith(";") or "{" in line):
                return True
    # A constructor or member defined out of its class: `A::name(` starting the line, not a call.
    out_of_class = re.compile(r"^\s*(?:\w+::)+~?" + word + r"\s*\(")
    if any(out_of_class.search(l) and (not l.rstrip().endswith(";") or "{" in l) for l in source.split("\n")):
        return True
    patterns = [
        r"^\s*(?:template\s*<[^>]*>\s*)?" + NOT_A_TYPE + TYPE_WORDS + r"+[*&]*(?:\w+::)*" + word + r"\s*\(",  # a signature
        r"\b(?:class|struct|union|enum(?:\s+class)?|namespace)\s+" + word + r"\b",
        r"\busing\s+" + word + r"\s*=",
        r"#define\s+" + word + r"\b",
        r"^\s*(?:[\w:<>,*&]+\s+)+" + word + r"\s*(?:=|;|\{|\[)",  # a variable or constant
    ]
    return any(re.search(p, source, re.M) for p in patterns)


def blocks(text):
    """(info, body lines, first line number) of each fenced block, and the prose outside them."""
    out, prose, lines, i = [], [], text.split("\n"), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            prose.append(lines[i])
            i += 1
            continue
        info, start, body = (m.group(1) + m.group(2)).strip(), i + 1, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        out.append((info, body, start))
        i += 1
    return out, "\n".join(prose)


def check(doc, root, build, problems):
    text = open(os.path.join(root, doc), encoding="utf-8").read()
    fenced, prose = blocks(text)
    for m in FILE_REF.finditer(prose):
        path, name = m.group(1), m.group(2)
        full = os.path.join(root, path)
        if not os.path.isfile(full):
            problems.append(f"{doc}: names {path}, which does not exist")
            continue
        if name and not defines(open(full, encoding="utf-8", errors="replace").read(), name):
            problems.append(f"{doc}: names {path}:{name}, but {path} defines no {name}")
    ignored = ignored_folders(root)
    for m in DIR_REF.finditer(prose):
        folder = m.group(1)
        runtime = "/" not in folder[:-1] and (folder in RUNTIME_FOLDERS or any(re.fullmatch(p, folder) for p in ignored))
        if not runtime and not os.path.isdir(os.path.join(root, folder)):
            problems.append(f"{doc}: names the folder {folder}, which does not exist")
    for info, body, line in fenced:
        quoted = re.search(r"\bfrom=(\S+)", info)
        if quoted:
            path = quoted.group(1)
            full = os.path.join(root, path)
            if not os.path.isfile(full):
                problems.append(f"{doc}:{line}: quotes {path}, which does not exist")
                continue
            source = [l.strip() for l in open(full, encoding="utf-8").read().split("\n")]
            at = 0
            for q in (l.strip() for l in body if l.strip()):
                while at < len(source) and source[at] != q:
                    at += 1
                if at == len(source):
                    problems.append(f"{doc}:{line}: quoted line not found (in order) in {path}: {q}")
                    break
                at += 1
        if re.match(r"(sh|bash)\b", info) and re.search(r"\brun\b", info):
            for command in (l for l in body if l.strip() and not l.strip().startswith("#")):
                command = re.sub(r"(^|[\s=])build/", lambda m: m.group(1) + build.rstrip("/") + "/", command)
                print(f"$ {command}", flush=True)
                result = subprocess.run(["bash", "-c", command], cwd=root, capture_output=True, text=True, timeout=900)
                tail = (result.stdout + result.stderr).strip().split("\n")[-3:]
                print("\n".join("  " + t for t in tail), flush=True)
                if result.returncode != 0:
                    problems.append(f"{doc}:{line}: command failed (exit {result.returncode}): {command}")
                elif re.search(r"test cases:\s+0 \|", result.stdout):
                    problems.append(f"{doc}:{line}: the command ran no test case (a stale name?): {command}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True)
    parser.add_argument("--build", required=True)
    parser.add_argument("docs", nargs="+")
    args = parser.parse_args()
    problems = []
    for doc in args.docs:
        check(doc, args.root, os.path.abspath(args.build), problems)
    for p in problems:
        print("docs: " + p)
    print(f"checked {', '.join(args.docs)}: {'ok' if not problems else str(len(problems)) + ' problems'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
