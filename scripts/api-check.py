#!/usr/bin/env python3
"""scripts/api-check.py: the mechanical rules of the API vocabulary.

docs/design.md, section "1a. The API vocabulary", writes the rules every
public name follows. This script checks the ones a program can check, over
the public headers (include/auv.h and include/auv/*.h):

  names      every function is auv_*, declared AUV_EXTERN; no `_ex`
             variant; every function-pointer typedef is auv_<what>_fn;
             every other typedef is auv_<thing>_t, a struct's over
             struct auv_<thing>_s (an enum's tag, if any, auv_<thing>_e);
             an options struct is auv_<object>_options_t for an object
             type auv_<object>_t, and is passed as a const pointer
  constants  every macro is AUV_*, its first word a family (the first
             word of some public function or type: AUV_FS_SIZE for
             auv_fs_*); the constants of one enum share one prefix
             AUV_<FAMILY>_, FAMILY a leading part of the enum's type name
             (AUV_WAIT_* for auv_wait_mode_t); error codes AUV_E<NAME>
             are the one exception
  counts     no `unsigned` in a prototype or a public struct member
             (counts and sizes are size_t), except the few listed in
             UNSIGNED_OK below, each with its reason
  waiting    the last parameter of every auv_*_future is
             `auv_future_t **future`; where the task form auv_X of
             auv_X_future exists, the future form's parameters (without
             that last one) are the task form's first parameters, type for
             type, and everything the task form takes after them is an out
             pointer (a pointer to non-const): "the same inputs in the same
             order", outputs last. auv_udp_recv_future is the documented
             exception (FUTURE_SHAPE_EXCEPTIONS)
  lifetimes  every auv_X_new returns int and ends with its out pointer
             (auv_<type>_t **); every auv_X_free returns int and takes
             auv_X_t *; an I/O object (an auv_X_close taking auv_X_t *,
             the loop excepted) has auv_X_is_closing(const auv_X_t *),
             auv_X_wait_closed and auv_X_wait_closed_future, and no
             auv_X_free
  getters    a function returning a libuv object (uv_*_t *) is
             auv_X_uv(auv_X_t *); an address getter is auv_X_sockname or
             auv_X_peername of the shape (const auv_X_t *, [size_t index,]
             struct sockaddr_storage *addr, int *len), returning int

The rest of the vocabulary (what a call does on NULL, on a second close,
which loop it uses) is behaviour, checked by the tests. That every public
function's signature is quoted in the docs, equal to its header's, is
checked by scripts/doc_programs.py (signatures); the `docs` step of
scripts/test.sh runs both.

The declarations are read with scripts/doc_programs.py's statement
splitter, so the two scripts see the headers the same way.

  python3 scripts/api-check.py [--include DIR]

DIR (default: the repository's include/) holds auv.h and auv/*.h. Prints
what it checked, then every violation as header:line: message. Exit status
0 when there is none, 1 otherwise.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import doc_programs  # noqa: E402  (the shared declaration parser)

ROOT = doc_programs.ROOT

# `unsigned` where the rule "counts and sizes are size_t" does not apply.
# Keyed by (function or struct type, parameter or member name); None names
# a function's return value.
UNSIGNED_OK = {
    # AUV_VERSION_HEX, a bit pattern (major << 16 | minor << 8 | patch),
    # as libuv's uv_version(); not a count.
    ("auv_version", None): "a version number, as uv_version()",
}
# Any parameter or member whose name ends in "flags" is a set of bits passed
# on to libuv (uv_udp_bind's flags, uv_process_options_t's flags), which
# libuv types unsigned int.
FLAGS_RE = re.compile(r"flags$")

# Future forms whose inputs differ from their task form's, each written in
# design.md ("Waiting").
FUTURE_SHAPE_EXCEPTIONS = {
    # No buffer: the future owns the datagram it hands over, so that no
    # buffer of the caller's has to outlive the call.
    "auv_udp_recv_future": "hands over an auv_udp_datagram_t, takes no buffer",
    # Its peer is a callback form (done, arg), not a task form: a host
    # calls it from its own libuv callbacks.
    "auv_loop_shutdown_future": "its peer auv_loop_shutdown takes done, arg",
}

# Lookups by a libuv object, named *_from_uv, that are not _uv getters.
FROM_UV_LOOKUPS = {
    # uv_loop_t -> the auv loop attached to it (design.md 1a, Getters).
    "auv_loop_from_uv",
}

# Functions named *_future that are not the future form of an operation.
NOT_FUTURE_FORMS = {
    # A getter: the future a task is (asyncio's Task is a Future); it
    # returns the future itself and never fails.
    "auv_task_future",
}

# Functions named *_close that are not an I/O object's close.
NOT_IO_CLOSE = {
    # The loop is not an I/O object: auv_loop_close frees it (design.md,
    # "Three lifetimes", the loop itself).
    "auv_loop_close",
}

# Macros that name no family.
MACRO_NO_FAMILY = {
    # The visibility macro on every declaration, as libuv's UV_EXTERN.
    "AUV_EXTERN",
}


class Violations:
    def __init__(self):
        self.items = []

    def add(self, where, msg):
        self.items.append("%s: %s" % (where, msg))


# ---- reading the headers ----------------------------------------------------

def blank_comments(text):
    """Comments replaced by spaces, newlines kept, so offsets still give the
    line numbers of the original text."""
    def keep_lines(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    return re.sub(r"/\*.*?\*/|//[^\n]*", keep_lines, text, flags=re.S)


class Header:
    def __init__(self, path, shown):
        self.path = path
        self.shown = shown
        with open(path, encoding="utf-8") as f:
            self.text = f.read()
        self.code = blank_comments(self.text)

    def line_of(self, pattern, start=0):
        """The line of the first match of pattern in the code (comments
        excluded), or 0."""
        m = re.compile(pattern).search(self.code, start)
        return self.code.count("\n", 0, m.start()) + 1 if m else 0

    def where(self, pattern):
        return "%s:%d" % (self.shown, self.line_of(pattern))


def split_top(text, sep=","):
    """Split at sep outside parentheses and brackets."""
    out, cur, depth = [], [], 0
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == sep and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


class Param:
    """One parameter, from its normalised text (doc_programs.normalise):
    `const char*path` -> type `const char*`, name `path`."""
    def __init__(self, text):
        self.text = text
        m = re.match(r"^(.*)\(\*(\w+)\)(\(.*\))$", text)
        if m:  # a function pointer
            self.type, self.name = m.group(1) + "(*)" + m.group(3), m.group(2)
            return
        m = re.match(r"^(.*?[\s*])(\w+)((?:\[[^\]]*\])*)$", text)
        if m and m.group(1).strip() not in ("", "const", "struct") \
                and m.group(2) not in ("int", "long", "short", "char"):
            self.type, self.name = (m.group(1).strip() + m.group(3)), m.group(2)
        else:  # unnamed
            self.type, self.name = text, None

    def is_out_pointer(self):
        """A pointer the callee writes through: not to const."""
        return self.type.endswith("*") and not self.type.startswith("const") \
            and "*const*" not in self.type


class Function:
    def __init__(self, header, name, ret, params, extern):
        self.header = header
        self.name = name
        self.ret = ret
        self.params = params
        self.extern = extern
        self.where = header.where(r"\b%s\s*\(" % re.escape(name))

    def sig(self):
        return "%s %s(%s)" % (self.ret, self.name, ", ".join(p.text for p in self.params))


FN_TYPEDEF_RE = re.compile(r"^typedef\s.*?\(\s*\*\s*(\w+)\s*\)\s*\(.*\)\s*;$", re.S)
TYPEDEF_RE = re.compile(
    r"^typedef\s+(?:(struct|enum|union)\s+(\w+)?\s*(\{.*\})?|(.*?))\s*(\w+)\s*;$", re.S)
FUNC_RE = re.compile(r"^(.*?[\s*])(\w+)\s*\((.*)\)\s*;$", re.S)


class Api:
    def __init__(self, include):
        self.headers = []
        self.functions = {}       # name -> Function
        self.fn_typedefs = []     # (header, name)
        self.typedefs = []        # (header, kind, tag, body, name)
        self.enums = []           # (header, type name, [(constant, line)])
        self.macros = []          # (header, name, line)
        self.structs = []         # (header, type name, [(member, name, line)])
        paths = [os.path.join(include, "auv.h")]
        sub = os.path.join(include, "auv")
        paths += sorted(os.path.join(sub, f) for f in os.listdir(sub) if f.endswith(".h"))
        for p in paths:
            h = Header(p, os.path.relpath(p, os.path.dirname(include)))
            self.headers.append(h)
            self.read(h)

    def read(self, h):
        for stmt in doc_programs.statements_at_file_scope(h.text):
            s = stmt.strip()
            if not s or s.startswith("extern \"C\""):
                continue
            m = FN_TYPEDEF_RE.match(s)
            if m:
                self.fn_typedefs.append((h, m.group(1)))
                continue
            if s.startswith("typedef"):
                m = TYPEDEF_RE.match(s)
                if not m:
                    continue
                kind, tag, body, name = m.group(1) or "", m.group(2), m.group(3), m.group(5)
                self.typedefs.append((h, kind, tag, body, name))
                if kind == "enum" and body:
                    self.enums.append((h, name, self.enum_constants(h, body)))
                if kind == "struct" and body:
                    self.structs.append((h, name, self.members(h, tag, body)))
                continue
            if "{" in s or "=" in s:
                continue
            extern = bool(re.match(r"^\s*AUV_EXTERN\b", s))
            d = doc_programs.normalise(re.sub(r"^\s*(AUV_EXTERN|extern)\s+", "", s))
            m = FUNC_RE.match(d)
            if not m:
                continue
            ret, name, params = m.group(1).strip(), m.group(2), m.group(3)
            plist = [] if params in ("", "void") else [Param(p) for p in split_top(params)]
            self.functions[name] = Function(h, name, ret, plist, extern)
        for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+(\w+)", h.code, re.M):
            self.macros.append((h, m.group(1), h.code.count("\n", 0, m.start()) + 1))

    def enum_constants(self, h, body):
        """The constants an enum body declares, with their lines. An X-macro
        table (`AUV_ERRNO_MAP(AUV__ERR_ENUM)` with `#define
        AUV__ERR_ENUM(name, ...) AUV_##name ...`) is expanded."""
        out = []
        for item in split_top(body.strip()[1:-1]):
            item = item.strip()
            for m in re.finditer(r"\b(\w+)\s*\(\s*(\w+)\s*\)", item):
                out += self.expand_xmacro(h, m.group(1), m.group(2))
            item = re.sub(r"\b\w+\s*\(\s*\w+\s*\)", "", item).strip()
            m = re.match(r"^(\w+)", item)
            if m:
                out.append((m.group(1), h.line_of(r"\b%s\b" % m.group(1))))
        return out

    def expand_xmacro(self, h, table, gen):
        m = re.search(r"#\s*define\s+%s\s*\(\s*(\w+)\s*\)((?:[^\n]*\\\n)*[^\n]*)"
                      % re.escape(table), h.code)
        g = re.search(r"#\s*define\s+%s\s*\(\s*(\w+)[^)]*\)\s*(\w*)\s*##\s*\1\b"
                      % re.escape(gen), h.code)
        if not m or not g:
            return []
        xx, prefix = m.group(1), g.group(2)
        start = m.start()
        out = []
        for e in re.finditer(r"\b%s\s*\(\s*(\w+)" % re.escape(xx), m.group(2)):
            out.append((prefix + e.group(1),
                        h.line_of(r"\b%s\s*\(\s*%s\b" % (xx, e.group(1)), start)))
        return out

    def members(self, h, tag, body):
        """The members of a struct body, normalised, with their lines."""
        m = re.search(r"\bstruct\s+%s\s*\{" % re.escape(tag), h.code) if tag else None
        start = m.start() if m else 0
        out = []
        for decl in split_top(body.strip()[1:-1], ";"):
            decl = doc_programs.normalise(decl)
            n = re.search(r"(\w+)(\[[^\]]*\])*$", decl)
            if n:
                out.append((decl, n.group(1),
                            h.line_of(r"\b%s\s*[\[;]" % n.group(1), start)))
        return out


# ---- the rules ----------------------------------------------------------------

def type_names(api):
    return {name for (_, _, _, _, name) in api.typedefs} | {n for (_, n) in api.fn_typedefs}


def families(api):
    """The first word of every public function and type name: the families
    a macro may belong to."""
    out = set()
    for name in list(api.functions) + list(type_names(api)):
        if name.startswith("auv_"):
            out.add(name[4:].split("_")[0].upper())
    return out


def check_names(api, v, counts):
    for f in api.functions.values():
        counts["functions"] += 1
        if not f.name.startswith("auv_"):
            v.add(f.where, "function %s: public functions are auv_*" % f.name)
        if not f.extern:
            v.add(f.where, "function %s is not declared AUV_EXTERN (not exported)" % f.name)
        if f.name.endswith("_ex"):
            v.add(f.where, "function %s: no _ex variants; the constructor takes its "
                  "options directly (design.md, Arguments)" % f.name)
    for h, name in api.fn_typedefs:
        counts["callback typedefs"] += 1
        if not re.match(r"^auv_\w+_fn$", name):
            v.add(h.where(r"\b%s\b" % name),
                  "function-pointer typedef %s: a callback type is auv_<what>_fn" % name)
    names = type_names(api)
    for h, kind, tag, body, name in api.typedefs:
        counts["typedefs"] += 1
        where = h.where(r"\b%s\s*;" % name)
        m = re.match(r"^auv_(\w+)_t$", name)
        if not m:
            v.add(where, "typedef %s: types are auv_<thing>_t" % name)
            continue
        thing = m.group(1)
        if kind in ("struct", "union") and tag != "auv_%s_s" % thing:
            v.add(where, "typedef %s: a struct type is auv_%s_t over %s auv_%s_s, not %s"
                  % (name, thing, kind, thing, "%s %s" % (kind, tag) if tag else "an untagged one"))
        if kind == "enum" and tag and tag != "auv_%s_e" % thing:
            v.add(where, "typedef %s: an enum's tag, if any, is auv_%s_e, not %s"
                  % (name, thing, tag))
        m = re.match(r"^auv_(\w+)_options_t$", name)
        if m and "auv_%s_t" % m.group(1) not in names:
            v.add(where, "options type %s: options are auv_<object>_options_t for an "
                  "object type auv_<object>_t, and there is no auv_%s_t"
                  % (name, m.group(1)))
    for f in api.functions.values():
        for p in f.params:
            m = re.match(r"^(const)?(auv_\w+_options_t)\*$", p.type)
            if m and not m.group(1):
                v.add(f.where, "%s: parameter %s: options are passed as const %s * "
                      "(NULL: every default)" % (f.name, p.name, m.group(2)))


def check_constants(api, v, counts):
    fams = families(api)
    for h, name, line in api.macros:
        counts["macros"] += 1
        where = "%s:%d" % (h.shown, line)
        if not name.startswith("AUV_"):
            v.add(where, "macro %s: macros are AUV_*" % name)
            continue
        if name.startswith("AUV__") or name in MACRO_NO_FAMILY:
            continue  # private to the header, or listed above
        if re.match(r"^AUV(_[A-Z0-9]+)*_H$", name):
            continue  # an include guard
        family = name[4:].split("_")[0]
        if family not in fams or "_" not in name[4:]:
            v.add(where, "macro %s: macros are AUV_<FAMILY>_<NAME>, FAMILY the first "
                  "word of a public function or type (auv_<family>_...)" % name)
    for h, tname, consts in api.enums:
        counts["enums"] += 1
        counts["enum constants"] += len(consts)
        words = tname[4:-2].split("_") if tname.startswith("auv_") else []
        # The prefixes the type's name allows: auv_wait_mode_t -> AUV_WAIT_,
        # AUV_WAIT_MODE_.
        allowed = ["AUV_%s_" % "_".join(words[:i]).upper() for i in range(1, len(words) + 1)]
        errors = tname == "auv_errno_t"
        rest = []
        for c, line in consts:
            where = "%s:%d" % (h.shown, line)
            if not c.startswith("AUV_"):
                v.add(where, "enum constant %s (%s): constants are AUV_*" % (c, tname))
            elif errors and re.match(r"^AUV_E[A-Z0-9]+$", c):
                counts["error codes"] += 1
            else:
                rest.append((c, where))
        if not rest:
            continue
        shared = [a for a in allowed if all(c.startswith(a) and len(c) > len(a)
                                            for c, _ in rest)]
        if not shared:
            for c, where in rest:
                if not any(c.startswith(a) for a in allowed):
                    v.add(where, "enum constant %s: the constants of %s are %s<NAME>"
                          % (c, tname, " or ".join(allowed) or "AUV_<FAMILY>_"))
            if all(any(c.startswith(a) for a in allowed) for c, _ in rest):
                v.add(rest[0][1], "the constants of %s do not share one prefix %s"
                      % (tname, " or ".join(allowed)))


def unsigned_in(t):
    return re.search(r"\bunsigned\b", t) is not None


def check_counts(api, v, counts):
    for f in api.functions.values():
        if unsigned_in(f.ret):
            counts["unsigned allowed"] += (f.name, None) in UNSIGNED_OK
            if (f.name, None) not in UNSIGNED_OK:
                v.add(f.where, "%s returns %s: counts and sizes are size_t"
                      % (f.name, f.ret))
        for p in f.params:
            if not unsigned_in(p.type):
                continue
            if (f.name, p.name) in UNSIGNED_OK or (p.name and FLAGS_RE.search(p.name)):
                counts["unsigned allowed"] += 1
                continue
            v.add(f.where, "%s: parameter %s is %s: counts and sizes are size_t"
                  % (f.name, p.name, p.type))
    for h, tname, members in api.structs:
        for text, member, line in members:
            if not unsigned_in(text):
                continue
            if (tname, member) in UNSIGNED_OK or FLAGS_RE.search(member):
                counts["unsigned allowed"] += 1
                continue
            v.add("%s:%d" % (h.shown, line), "%s.%s is %s: counts and sizes are size_t"
                  % (tname, member, text))


def check_waiting(api, v, counts):
    for f in api.functions.values():
        if not f.name.endswith("_future") or f.name in NOT_FUTURE_FORMS:
            continue
        counts["future forms"] += 1
        last = f.params[-1] if f.params else None
        if last is None or last.type != "auv_future_t**" or last.name != "future":
            v.add(f.where, "%s: the last parameter of a future form is "
                  "`auv_future_t **future`, not %s"
                  % (f.name, last.text if last else "nothing"))
            continue
        task = api.functions.get(f.name[:-len("_future")])
        if task is None:
            continue
        counts["task/future pairs"] += 1
        if f.name in FUTURE_SHAPE_EXCEPTIONS:
            counts["pairs excepted"] += 1
            continue
        inputs = f.params[:-1]
        head = task.params[:len(inputs)]
        same = len(head) == len(inputs) and all(a.type == b.type for a, b in zip(inputs, head))
        tail = task.params[len(inputs):]
        if not same:
            v.add(f.where, "%s takes (%s) but its task form %s begins (%s): both forms "
                  "take the same inputs in the same order"
                  % (f.name, ", ".join(p.type for p in inputs), task.name,
                     ", ".join(p.type for p in head)))
        elif not all(p.is_out_pointer() for p in tail):
            bad = [p.text for p in tail if not p.is_out_pointer()]
            v.add(task.where, "%s takes %s after the inputs its future form %s takes: "
                  "only out pointers may follow them" % (task.name, ", ".join(bad), f.name))


def obj_type(name, suffix):
    """auv_stream_close -> auv_stream_t."""
    return "auv_%s_t" % name[4:-len(suffix)]


def check_lifetimes(api, v, counts):
    fns = api.functions
    for f in fns.values():
        if f.name.endswith("_new") and f.name.startswith("auv_"):
            counts["constructors"] += 1
            last = f.params[-1] if f.params else None
            if f.ret != "int" or last is None or not re.match(r"^auv_\w+_t\*\*$", last.type):
                v.add(f.where, "%s: a constructor is `int auv_<object>_new(..., "
                      "auv_<object>_t **out)`, not %s" % (f.name, f.sig()))
        if f.name.endswith("_free") and f.name.startswith("auv_"):
            counts["free functions"] += 1
            t = obj_type(f.name, "_free")
            if f.ret != "int":
                v.add(f.where, "%s returns %s: free returns int (0, or UV_EBUSY while "
                      "something waits on the object)" % (f.name, f.ret))
            if not f.params or f.params[0].type != t + "*":
                v.add(f.where, "%s: free takes the object, %s *, first" % (f.name, t))
        if f.name.endswith("_close") and f.name.startswith("auv_"):
            t = obj_type(f.name, "_close")
            if f.name in NOT_IO_CLOSE or not f.params or f.params[0].type != t + "*":
                continue  # not an object's close (auv_fs_close takes a file)
            counts["I/O objects"] += 1
            base = f.name[:-len("_close")]
            if f.ret != "int" or len(f.params) != 1:
                v.add(f.where, "%s: an I/O object's close is `int %s(%s *)`"
                      % (f.name, f.name, t))
            want = [
                ("_is_closing", "int", ["const %s*" % t]),
                ("_wait_closed", "int", ["%s*" % t]),
                ("_wait_closed_future", "int", ["%s*" % t, "auv_future_t**"]),
            ]
            for suffix, ret, ptypes in want:
                g = fns.get(base + suffix)
                if g is None:
                    v.add(f.where, "%s: an I/O object with a close has %s too"
                          % (f.name, base + suffix))
                elif g.ret != ret or [p.type for p in g.params] != ptypes:
                    v.add(g.where, "%s: the shape is `%s %s(%s)`, not %s"
                          % (g.name, ret, g.name, ", ".join(ptypes), g.sig()))
            if base + "_close_future" in fns:
                v.add(fns[base + "_close_future"].where,
                      "%s: close never waits, so it has one form; the future form "
                      "of the wait is %s_wait_closed_future"
                      % (base + "_close_future", base))
            if base + "_free" in fns:
                v.add(fns[base + "_free"].where,
                      "%s: an I/O object has no free: its memory goes back when its "
                      "close has finished" % (base + "_free"))


def check_getters(api, v, counts):
    for f in api.functions.values():
        if f.name in FROM_UV_LOOKUPS:
            continue
        uv_ret = re.match(r"^(const)?uv_\w+_t\*$", f.ret.replace(" ", ""))
        if uv_ret or f.name.endswith("_uv"):
            counts["libuv getters"] += 1
            t = obj_type(f.name, "_uv") if f.name.endswith("_uv") else None
            if not uv_ret:
                v.add(f.where, "%s: a getter named _uv returns the libuv object "
                      "(uv_*_t *), not %s" % (f.name, f.ret))
            elif not f.name.endswith("_uv"):
                v.add(f.where, "%s returns the libuv object %s: that getter is "
                      "auv_<object>_uv" % (f.name, f.ret))
            elif len(f.params) != 1 or f.params[0].type.replace(" ", "") != t + "*":
                # Not const: the caller may change the object through what
                # it gets back (design.md 1a, Getters).
                v.add(f.where, "%s: the shape is `%s %s(%s *)`, not %s"
                      % (f.name, f.ret, f.name, t, f.sig()))
        m = re.match(r"^auv_(\w+?)_?(sockname|peername)$", f.name)
        if not m and re.search(r"sockname|peername", f.name):
            m = re.match(r"^auv_(\w+?)_?(?:get)?(sockname|peername)", f.name)
        if not m:
            continue
        counts["address getters"] += 1
        want = "auv_%s_%s" % (m.group(1), m.group(2))
        if m.group(1).endswith("_get"):
            want = "auv_%s_%s" % (m.group(1)[:-4], m.group(2))
        if f.name != want:
            v.add(f.where, "%s: an address getter is named %s" % (f.name, want))
            continue
        t = "auv_%s_t" % m.group(1)
        types = [p.type for p in f.params]
        shape = ["const %s*" % t, "struct sockaddr_storage*", "int*"]
        indexed = shape[:1] + ["size_t"] + shape[1:]
        if f.ret != "int" or types not in (shape, indexed):
            v.add(f.where, "%s: the shape is `int %s(const %s *, [size_t index,] "
                  "struct sockaddr_storage *addr, int *len)`, not %s"
                  % (f.name, f.name, t, f.sig()))


def main(argv):
    include = os.path.join(ROOT, "include")
    if len(argv) == 3 and argv[1] == "--include":
        include = os.path.abspath(argv[2])
    elif len(argv) != 1:
        sys.stderr.write("usage: %s [--include DIR]\n" % argv[0])
        return 2
    api = Api(include)
    if len(api.functions) < 100:
        print("error: only %d functions parsed from %s: the parser is broken"
              % (len(api.functions), include))
        return 1
    v = Violations()
    counts = {k: 0 for k in [
        "functions", "callback typedefs", "typedefs", "macros", "enums",
        "enum constants", "error codes", "unsigned allowed", "future forms",
        "task/future pairs", "pairs excepted", "constructors", "free functions",
        "I/O objects", "libuv getters", "address getters"]}
    check_names(api, v, counts)
    check_constants(api, v, counts)
    check_counts(api, v, counts)
    check_waiting(api, v, counts)
    check_lifetimes(api, v, counts)
    check_getters(api, v, counts)
    for item in v.items:
        print("error: " + item)
    print("api-check: %d headers; %s; %d violations"
          % (len(api.headers), ", ".join("%d %s" % (n, k) for k, n in counts.items()),
             len(v.items)))
    return 1 if v.items else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
