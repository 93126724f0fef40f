#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""readme-guides.py - keep the README and the programs in step.

Used by tests/t/t0031-readme-guides.sh.  Each subcommand prints one
problem a line and exits 1 when there is any, 0 otherwise:

  commands README USAGE     every `git bbs <command> [--option...]` in the
                            README (code spans and code blocks) is a command
                            of the usage text USAGE, with options it lists
  keys README SRCDIR        every bbs.* configuration key and BBS_* variable
                            the README names is one the programs read
                            (remote-helper/config.c's key table, the
                            variables the C sources name) or, for BBS_*, one
                            a script of the tree reads (.ci/, tests/, contrib/)
  unrun README LOG HOME     every git command in a code block of the README's
                            "## Guides" section matches a command in LOG, the
                            commands the guide tests ran (one a line)
  list README               the guide commands as patterns (for a person)
"""
import os
import re
import sys


def code_lines(text, section=None):
    """(kind, text) of the README: code spans ("span") and the lines of
    indented code blocks ("block"), optionally of one "## " section only."""
    inside = section is None
    prev_blank = True
    in_block = False
    for line in text.splitlines():
        if line.startswith("## "):
            if section is not None:
                inside = line.strip() == section
            in_block = False
        if not inside:
            prev_blank = line.strip() == ""
            continue
        if line.startswith("    ") and (in_block or prev_blank):
            in_block = True
            yield ("block", line.strip())
        else:
            if line.strip() != "":
                in_block = False
            for m in re.finditer(r"`([^`]+)`", line):
                yield ("span", m.group(1))
            yield ("eol", "")
        prev_blank = line.strip() == ""


def strip_comment(s):
    return re.sub(r"(^|\s)#.*$", "", s).rstrip()


def segments(s):
    """The simple commands of a shell line: split at | && || ; and drop
    leading NAME=value assignments and an `ssh HOST` in front."""
    out = []
    for seg in re.split(r"\|\||&&|\||;", strip_comment(s)):
        words = seg.strip()
        while re.match(r"^[A-Za-z_][A-Za-z0-9_]*=\S*\s+", words):
            words = re.sub(r"^[A-Za-z_][A-Za-z0-9_]*=\S*\s+", "", words)
        words = re.sub(r"^ssh\s+\S+\s+", "", words)
        if words:
            out.append(words)
    return out


# --- commands ---------------------------------------------------------------

def bbs_invocations(readme):
    """(command, [options]) for each `git bbs ...` shown."""
    for kind, s in code_lines(readme):
        for seg in segments(s) if kind == "block" else [s]:
            for m in re.finditer(r"\bgit bbs\s+(-{0,2}[a-z][a-z-]*)(.*)", seg):
                cmd, rest = m.group(1), m.group(2)
                rest = re.split(r"\bgit bbs\b", rest)[0]
                opts = re.findall(r"(?<![\w<])(--?[a-z][a-z-]*)", rest)
                yield cmd, opts


def usage_table(usage):
    """{command: set of option tokens} from `git bbs --help`."""
    table = {}
    for line in usage.splitlines():
        m = re.match(r"^(?:usage:)?\s*git bbs\s+(\S+)(.*)$", line)
        if not m:
            continue
        words = set(re.split(r"[\s\[\]|=()]+", m.group(2)))
        table.setdefault(m.group(1), set()).update(words)
    return table


def check_commands(readme, usage):
    table = usage_table(usage)
    problems = []
    if len(table) < 5:
        problems.append("the usage text lists %d commands" % len(table))
    for cmd, opts in bbs_invocations(readme):
        if cmd not in table:
            problems.append("git bbs %s: not a command of git bbs" % cmd)
            continue
        for o in opts:
            if o not in table[cmd]:
                problems.append("git bbs %s %s: not an option of git bbs %s"
                                % (cmd, o, cmd))
    return sorted(set(problems))


# --- keys -------------------------------------------------------------------

def readme_keys(readme):
    """(name, has_url) of each bbs.* key, and the BBS_* names."""
    keys, names = set(), set()
    stem = None
    for kind, s in code_lines(readme):
        if kind != "span":
            stem = None
        if kind == "span" and re.match(r"^\.[A-Za-z]+$", s):
            if stem is not None:	# `.tokenUrl` after `bbs.<url>.x`
                keys.add((s[1:], stem))
            continue
        for m in re.finditer(r"((?<![\w.])bbs\.\S+)", s):
            tok = m.group(1).rstrip(",;:)`'\"")
            tok = tok.replace("[<url>.]", "")
            tok = re.sub(r"=.*$", "", tok)
            km = re.match(r"^bbs\.(?:(<url>|https?://[^\s/]+?)\.)?"
                          r"([A-Za-z]+)$", tok)
            if km is None:
                continue        # bbs.<url>, bbs.<url>.*
            has_url = km.group(1) is not None
            keys.add((km.group(2), has_url))
            stem = has_url
        names.update(re.findall(r"\b(BBS_[A-Z0-9_]+)\b", s))
    return keys, names


def source_keys(srcdir):
    """{lowercase name: url-matched} from config.c's key table."""
    with open(os.path.join(srcdir, "remote-helper", "config.c")) as f:
        text = f.read()
    return {m.group(1): m.group(2) == "1" for m in
            re.finditer(r'\{\s*"bbs",\s*"([a-z]+)",\s*([01])\s*\}', text)}


def files_under(srcdir, dirs, exts):
    for d in dirs:
        for root, _, files in os.walk(os.path.join(srcdir, d)):
            if "node_modules" in root or "trash" in root:
                continue
            for n in files:
                if n.endswith(exts) or "." not in n:
                    yield os.path.join(root, n)


def program_names(srcdir):
    """BBS_* names the C sources name as strings (test hooks left out)."""
    names = set()
    for p in files_under(srcdir, ["remote-helper", "oauth"], (".c",)):
        if p.endswith("testpoint.c"):
            continue
        with open(p, errors="replace") as f:
            names.update(re.findall(r'"(BBS_[A-Z0-9_]+)"', f.read()))
    return names


def script_names(srcdir):
    """BBS_* names the scripts of the tree read."""
    names = set()
    for p in files_under(srcdir, [".ci", "tests", "contrib"],
                         (".sh", ".py", ".js", ".bash")):
        try:
            with open(p, errors="replace") as f:
                text = f.read()
        except (IsADirectoryError, PermissionError):
            continue
        names.update(re.findall(r'\$\{?(BBS_[A-Z0-9_]+)', text))
        names.update(re.findall(r'environ(?:\.get\(|\[)["\'](BBS_[A-Z0-9_]+)',
                                text))
    for rel in ("contrib/debian/rules", "Makefile.am"):
        try:
            with open(os.path.join(srcdir, rel), errors="replace") as f:
                names.update(re.findall(r'\$\((BBS_[A-Z0-9_]+)\)', f.read()))
        except FileNotFoundError:
            pass
    return names


def check_keys(readme, srcdir):
    keys, names = readme_keys(readme)
    known = source_keys(srcdir)
    problems = []
    if len(known) < 10:
        problems.append("config.c's key table has %d bbs keys" % len(known))
    for name, has_url in sorted(keys):
        low = name.lower()
        if low not in known:
            problems.append("bbs.%s%s: no program reads this key"
                            % ("<url>." if has_url else "", name))
        elif has_url and not known[low]:
            problems.append("bbs.<url>.%s: this key takes no URL" % name)
    progs, scripts = program_names(srcdir), script_names(srcdir)
    for n in sorted(names):
        if n not in progs and n not in scripts:
            problems.append("%s: neither a program nor a script reads it" % n)
    return problems


# --- guide commands ---------------------------------------------------------

ORIGIN = "ORIGIN"


def normalize(cmd, home=None):
    """A command with its origins, quotes and $HOME taken out."""
    s = cmd.replace('"', "").replace("'", "")
    if home:
        s = re.sub(r"(^|\s|=)" + re.escape(home) + r"(?=/|\s|$)", r"\1~", s)
    # section.URL.key (no path in the URL): keep the key
    s = re.sub(r"\b([a-z]+)\.https?://[^\s/]+?\.([A-Za-z]+)(?=\s|$)",
               r"\1." + ORIGIN + r".\2", s)
    s = re.sub(r"https?://[^\s/]+", ORIGIN, s)
    return re.sub(r"\s+", " ", s).strip()


def guide_patterns(readme):
    """(README line, regex) for each git command of a Guides code block."""
    for kind, s in code_lines(readme, "## Guides"):
        if kind != "block":
            continue
        for seg in segments(s):
            if not seg.startswith("git "):
                continue
            n = normalize(seg)
            parts = re.split(r"(<[^>]+>|\.\.\.)", n)
            rx = "".join(r"\S+" if (p.startswith("<") or p == "...")
                         else re.escape(p) for p in parts)
            yield seg, re.compile(rx)


def check_unrun(readme, log, home):
    ran = [normalize(line, home) for line in log.splitlines() if line]
    problems = []
    count = 0
    for seg, rx in guide_patterns(readme):
        count += 1
        if not any(rx.fullmatch(r) for r in ran):
            problems.append("not run by the guide tests: %s" % seg)
    if count < 10:
        problems.append("only %d guide commands found" % count)
    return problems


def main(argv):
    def read(p):
        with open(p) as f:
            return f.read()
    if len(argv) == 4 and argv[1] == "commands":
        problems = check_commands(read(argv[2]), read(argv[3]))
    elif len(argv) == 4 and argv[1] == "keys":
        problems = check_keys(read(argv[2]), argv[3])
    elif len(argv) == 5 and argv[1] == "unrun":
        problems = check_unrun(read(argv[2]), read(argv[3]), argv[4])
    elif len(argv) == 3 and argv[1] == "list":
        for seg, rx in guide_patterns(read(argv[2])):
            print(rx.pattern)
        return 0
    else:
        sys.stderr.write(__doc__)
        return 2
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
