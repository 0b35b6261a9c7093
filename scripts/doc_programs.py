#!/usr/bin/env python3
"""scripts/doc_programs.py: the helper behind scripts/doc-programs.sh.

Keeps the documentation honest in two ways:

  extract OUTDIR       writes every complete C program found in README.md
                       and docs/*.md to OUTDIR/NNN-<page>-<line>.c, and a
                       manifest OUTDIR/programs.tsv with one line per
                       program: file, source page:line, run mode, arguments.
  signatures           checks every function prototype quoted in those
                       pages against the declarations in include/, and
                       prints what it checked and every mismatch.

What counts as a program: a fenced block opened with ```c whose text
defines main (`int main(`). Every such block must compile with -Wall
-Werror and exit 0. A block marks how it is run with a comment inside it,
on a line of its own:

  /* doc-program: args ARG... */   run it with these arguments
  /* doc-program: compile-only: WHY */
                                   compile and link it, do not run it, and
                                   say WHY in the summary (for a program
                                   that needs a peer that the docs do not
                                   give, such as a server to talk to)
  /* doc-program: expect-abort: TEXT */
                                   the program shows a fatal report: it
                                   must die of SIGABRT and its output must
                                   contain TEXT

A fenced block that is not C at all uses another language tag (```sh,
```text). A C fragment without main is not a program and is only read
for prototypes.

What counts as a quoted prototype: in any ```c block, a statement at file
scope (outside every brace) of the form `TYPE auv_name(PARAMS);` (a
declaration, not a definition, not a call). Each must equal the header's
declaration of that name after both are normalised: AUV_EXTERN and
comments dropped, whitespace collapsed, no space next to punctuation.
A quoted prototype of a name no header declares is an error too, and so
is a function declared in include/ whose prototype no page quotes.
Function-pointer typedefs of the public API (`typedef int
(*auv_task_fn)(...)`) quoted in the docs are checked the same way.

  links                every relative link in those pages names a file that
                       exists, and every #anchor one of its headings.

Exit status: 0 when every check passed, 1 otherwise.
"""
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

FENCE_RE = re.compile(r"^(\s*)```(\S*)\s*$")
MARKER_RE = re.compile(r"^\s*/\*\s*doc-program:\s*(.*?)\s*\*/\s*$")
MAIN_RE = re.compile(r"\bint\s+main\s*\(")


def doc_pages():
    pages = [os.path.join(ROOT, "README.md")]
    docs = os.path.join(ROOT, "docs")
    pages += sorted(os.path.join(docs, f) for f in os.listdir(docs) if f.endswith(".md"))
    return pages


def code_blocks(path):
    """Yield (language, first line number of the code, text) for every
    fenced block of the page. An unterminated fence is an error."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE_RE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang = m.group(1), m.group(2)
        start = i + 1
        j = start
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        if j == len(lines):
            raise SystemExit("%s:%d: fence never closed" % (rel(path), i + 1))
        body = [l[len(indent):] if l.startswith(indent) else l for l in lines[start:j]]
        yield lang, start + 1, "\n".join(body) + "\n"
        i = j + 1


def rel(path):
    return os.path.relpath(path, ROOT)


# ---- programs ---------------------------------------------------------------

def parse_marker(text, where):
    """The block's run mode: ('run', [args]), ('compile-only', why) or
    ('expect-abort', text)."""
    mode = ("run", [])
    for line in text.split("\n"):
        m = MARKER_RE.match(line)
        if not m:
            continue
        spec = m.group(1)
        if spec.startswith("args "):
            mode = ("run", spec[len("args "):].split())
        elif spec.startswith("compile-only:") and spec[len("compile-only:"):].strip():
            mode = ("compile-only", spec[len("compile-only:"):].strip())
        elif spec.startswith("expect-abort:") and spec[len("expect-abort:"):].strip():
            mode = ("expect-abort", spec[len("expect-abort:"):].strip())
        else:
            raise SystemExit("%s: unknown doc-program marker %r (use 'args ...', "
                             "'compile-only: why' or 'expect-abort: text')" % (where, spec))
    return mode


def extract(outdir):
    os.makedirs(outdir, exist_ok=True)
    rows = []
    n = 0
    for page in doc_pages():
        for lang, line, text in code_blocks(page):
            if lang != "c" or not MAIN_RE.search(text):
                continue
            n += 1
            where = "%s:%d" % (rel(page), line)
            mode, extra = parse_marker(text, where)
            name = "%03d-%s-%d.c" % (n, os.path.splitext(os.path.basename(page))[0], line)
            with open(os.path.join(outdir, name), "w", encoding="utf-8") as f:
                f.write("#line %d \"%s\"\n" % (line, rel(page)))
                f.write(text)
            if mode == "run":
                rows.append("\t".join([name, where, "run", " ".join(extra)]))
            else:
                rows.append("\t".join([name, where, mode, extra]))
    with open(os.path.join(outdir, "programs.tsv"), "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + ("\n" if rows else ""))
    print("%d programs extracted to %s" % (n, outdir))
    return 0


# ---- prototypes -------------------------------------------------------------

def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def normalise(decl):
    decl = decl.replace("AUV_EXTERN", " ")
    decl = re.sub(r"\s+", " ", decl).strip()
    decl = re.sub(r"\s*([(),;*\[\]])\s*", r"\1", decl)
    return decl


def statements_at_file_scope(text):
    """Split C text into statements that end with ';' outside any brace,
    parenthesis or preprocessor line. Text inside braces (bodies, struct
    members, initialisers) is kept in its statement, so a statement that
    contains '{' is a definition or an initialiser, never a prototype."""
    text = strip_comments(text)
    text = re.sub(r"\\\n", " ", text)  # continued preprocessor lines
    # The header's extern "C" { ... } wrapper is C++ only.
    text = re.sub(r"#ifdef __cplusplus\n.*?#endif", "", text, flags=re.S)
    text = "\n".join(l for l in text.split("\n") if not l.lstrip().startswith("#"))
    out, cur, depth = [], [], 0
    for ch in text:
        cur.append(ch)
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth -= 1
            if ch == "}" and depth == 0:
                # A function body ends its statement without a ';'.
                s = "".join(cur)
                if re.search(r"\)\s*\{", s) and not re.match(r"\s*(typedef|struct|enum|union)\b", s):
                    out.append(s)
                    cur = []
        elif ch == ";" and depth == 0:
            out.append("".join(cur))
            cur = []
    return out


PROTO_RE = re.compile(
    r"^(?:const\s+|unsigned\s+|struct\s+|signed\s+)*[A-Za-z_]\w*[\s\*]+(?:\*\s*)*(auv_\w+)\s*\((.*)\)\s*;$",
    re.S)
TYPEDEF_FN_RE = re.compile(r"^typedef\s.*\(\s*\*\s*(auv_\w+)\s*\)\s*\(.*\)\s*;$", re.S)
NOT_TYPES = {"return", "else", "case", "goto", "sizeof", "do"}


def declarations(text):
    """The prototypes and function-pointer typedefs declared at file scope
    in text: {name: normalised declaration}, in order, with duplicates
    kept as a list of (name, declaration)."""
    found = []
    for stmt in statements_at_file_scope(text):
        s = stmt.strip()
        if "{" in s or "=" in s:
            continue
        m = TYPEDEF_FN_RE.match(s)
        if m:
            found.append((m.group(1), normalise(s)))
            continue
        s2 = re.sub(r"^\s*(AUV_EXTERN|extern|static)\s+", "", s)
        m = PROTO_RE.match(s2)
        if m and s2.split()[0] not in NOT_TYPES:
            found.append((m.group(1), normalise(s2)))
    return found


def header_declarations():
    decls = {}
    inc = os.path.join(ROOT, "include")
    headers = [os.path.join(inc, "auv.h")]
    sub = os.path.join(inc, "auv")
    headers += sorted(os.path.join(sub, f) for f in os.listdir(sub) if f.endswith(".h"))
    for h in headers:
        with open(h, encoding="utf-8") as f:
            text = f.read()
        for name, d in declarations(text):
            decls.setdefault(name, d)
    return decls


def signatures():
    decls = header_declarations()
    if len(decls) < 100:
        print("error: only %d declarations parsed from include/: the parser is broken"
              % len(decls))
        return 1
    checked, bad, names = 0, [], set()
    for page in doc_pages():
        for lang, line, text in code_blocks(page):
            if lang != "c":
                continue
            for name, d in declarations(text):
                checked += 1
                names.add(name)
                where = "%s (block at line %d)" % (rel(page), line)
                if name not in decls:
                    bad.append("%s: %s is not declared in include/:\n    quoted: %s"
                               % (where, name, d))
                elif decls[name] != d:
                    bad.append("%s: %s differs from its header declaration:\n"
                               "    quoted: %s\n    header: %s" % (where, name, d, decls[name]))
    # docs/README.md promises every function's signature on its page.
    unquoted = sorted(set(decls) - names)
    for name in unquoted:
        bad.append("%s is declared in include/ but its prototype is quoted on no page:\n"
                   "    header: %s" % (name, decls[name]))
    for b in bad:
        print("error: " + b)
    print("signatures: %d quoted prototypes checked, %d of the %d functions and function "
          "types declared in include/ quoted, %d errors"
          % (checked, len(names), len(decls), len(bad)))
    return 1 if bad else 0


# ---- links -------------------------------------------------------------------

def heading_anchors(path):
    """The anchors GitHub makes for a page's headings."""
    out = set()
    in_code = False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("```"):
                in_code = not in_code
            m = None if in_code else re.match(r"^#+\s+(.*)", line)
            if m:
                t = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower())
                out.add(t.replace(" ", "-"))
    return out


def links():
    """Every relative link of the pages must name a file that exists, and an
    anchor in a .md file must name one of its headings."""
    bad, n = [], 0
    for page in doc_pages():
        in_code = False
        with open(page, encoding="utf-8") as f:
            lines = f.read().split("\n")
        for i, line in enumerate(lines, 1):
            if line.lstrip().startswith("```"):
                in_code = not in_code
            if in_code:
                continue
            for m in re.finditer(r"\]\(([^)\s]+)\)", line):
                target = m.group(1)
                if re.match(r"[a-z]+:", target):
                    continue
                n += 1
                name, _, anchor = target.partition("#")
                path = os.path.normpath(os.path.join(os.path.dirname(page), name)) if name else page
                if not os.path.exists(path):
                    bad.append("%s:%d: link to a missing file: %s" % (rel(page), i, target))
                elif anchor and path.endswith(".md") and anchor not in heading_anchors(path):
                    bad.append("%s:%d: link to a missing heading: %s" % (rel(page), i, target))
    for b in bad:
        print("error: " + b)
    print("links: %d relative links checked, %d broken" % (n, len(bad)))
    return 1 if bad else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "extract":
        return extract(argv[2])
    if len(argv) == 2 and argv[1] == "signatures":
        return signatures()
    if len(argv) == 2 and argv[1] == "links":
        return links()
    if len(argv) == 2 and argv[1] == "header-prototypes":
        # For writing docs: every header declaration, normalised.
        for name, d in sorted(header_declarations().items()):
            print("%s\t%s" % (name, d))
        return 0
    sys.stderr.write("usage: %s extract OUTDIR | signatures | links\n" % argv[0])
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
