#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""genrepo.py - deterministic repository content for the benchmark.

Two commands write a "git fast-import" stream to stdout, the third writes
refs:

  genrepo.py history --scale full|quick
      The whole history of the benchmark repository: a main line of
      commits that edit text files in a tree of directories (so that the
      pack holds deltas), binary assets of pseudo-random (incompressible)
      bytes, feature branches (some merged back), and tags (half of them
      annotated).

  genrepo.py commits --git-dir DIR --from REV --ref REF --commits N
                     [--blob-bytes B] [--seed S] [--time T]
      N new commits on top of REV (an existing commit of DIR), stored as
      REF: each edits a few existing text files; the last one also adds a
      pseudo-random binary file of B bytes.  The stream starts from the
      commit REV, so the caller feeds it to "git fast-import" in DIR.

  genrepo.py refs --git-dir DIR --count N
      N more refs in DIR, written straight into its packed-refs (100,000
      refs take a second; through fast-import or update-ref they take
      minutes): 60% branches refs/heads/teamK/topic-N, 40% lightweight
      tags refs/tags/build-N, each at a commit of main, spread over its
      history.  The refs DIR had stay as they were.

Everything is a function of the arguments: fixed names, e-mail addresses
and dates, a 64-bit linear congruential generator for every choice and for
the text, and SHAKE-256 in place of random bytes for the binary content.
Nothing is downloaded and nothing depends on the clock.
"""

import argparse
import hashlib
import os
import subprocess
import sys

MASK64 = (1 << 64) - 1


class Rng:
    """Knuth's MMIX linear congruential generator, high bits only."""

    def __init__(self, seed):
        self.s = (seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & MASK64

    def next31(self):
        self.s = (self.s * 6364136223846793005 + 1442695040888963407) & MASK64
        return self.s >> 33

    def below(self, n):
        return (self.next31() * n) >> 31

    def between(self, lo, hi):
        return lo + self.below(hi - lo + 1)

    def chance(self, per_mille):
        return self.below(1000) < per_mille

    def pick(self, seq):
        return seq[self.below(len(seq))]


def random_bytes(tag, n):
    """n incompressible bytes determined by tag (a string)."""
    return hashlib.shake_256(tag.encode()).digest(n)


WORDS = (
    "alloc buf cache chunk client config conn count ctx data delta dest "
    "entry err file flags frame hash head index input item key len list "
    "lock map mode name node obj offset opts out pack path peer pos queue "
    "ref remote req resp result ring size slot src state stream table tag "
    "tmp token tree url value version walk window write zone"
).split()
TYPES = ("int", "size_t", "unsigned", "char *", "const char *", "struct buf *",
         "uint32_t", "off_t", "bool", "long")
FUNCS = ("check", "parse", "read", "write", "open", "close", "update", "load",
         "store", "find", "merge", "flush", "reset", "encode", "decode")


def ident(rng):
    return WORDS[rng.below(len(WORDS))] + "_" + WORDS[rng.below(len(WORDS))]


def code_line(rng):
    k = rng.below(10)
    if k == 0:
        return "\t%s %s = %d;" % (rng.pick(TYPES), ident(rng), rng.below(4096))
    if k == 1:
        return "\tif (%s != NULL && %s > %d)" % (ident(rng), ident(rng),
                                                rng.below(100))
    if k == 2:
        return "\t\treturn %s_%s(%s, %s);" % (rng.pick(FUNCS), ident(rng),
                                             ident(rng), ident(rng))
    if k == 3:
        return "\t/* %s the %s before the %s */" % (
            rng.pick(FUNCS), rng.pick(WORDS), rng.pick(WORDS))
    if k == 4:
        return "\tfor (i = 0; i < %s; i++)" % ident(rng)
    if k == 5:
        return "\t\t%s[i] = %s(%s);" % (ident(rng), rng.pick(FUNCS),
                                       ident(rng))
    if k == 6:
        return "\t%s->%s = %s;" % (rng.pick(WORDS), ident(rng), ident(rng))
    if k == 7:
        return "\terr = %s_%s(%s, &%s);" % (rng.pick(FUNCS), rng.pick(WORDS),
                                           ident(rng), ident(rng))
    if k == 8:
        return "\t}"
    return "\t%s(%s, %d);" % (ident(rng), ident(rng), rng.below(65536))


def text_line(rng):
    n = rng.between(4, 12)
    return " ".join(rng.pick(WORDS) for _ in range(n))


def new_text(rng, path, nlines):
    if path.endswith(".md") or path.endswith(".txt"):
        lines = ["# " + path, ""]
        lines += [text_line(rng) for _ in range(nlines)]
    else:
        lines = ["/* %s */" % path, "#include \"common.h\"", ""]
        for _ in range(nlines):
            if rng.chance(80):
                lines.append("")
                lines.append("static int\n%s(void)\n{" % ident(rng))
            lines.append(code_line(rng))
    return lines


def edit_text(rng, lines, path):
    """A small edit: replace, insert and delete a few lines."""
    lines = list(lines)
    gen = text_line if (path.endswith(".md") or path.endswith(".txt")) \
        else code_line
    lo = 3 if len(lines) > 6 else 0
    for _ in range(rng.between(0, 3)):
        if len(lines) > lo:
            lines[rng.between(lo, len(lines) - 1)] = gen(rng)
    at = rng.between(lo, len(lines))
    lines[at:at] = [gen(rng) for _ in range(rng.between(1, 5))]
    for _ in range(rng.between(0, 2)):
        if len(lines) > lo + 20:
            del lines[rng.between(lo, len(lines) - 1)]
    return lines


def text_bytes(lines):
    return ("\n".join(lines) + "\n").encode()


class Stream:
    def __init__(self, out):
        self.out = out

    def raw(self, s):
        self.out.write(s.encode() if isinstance(s, str) else s)

    def data(self, b):
        if isinstance(b, str):
            b = b.encode()
        self.raw(b"data %d\n" % len(b))
        self.raw(b)
        self.raw(b"\n")


AUTHORS = [
    ("Alice Archer", "alice@example.com"),
    ("Bob Brenner", "bob@example.com"),
    ("Carol Chen", "carol@example.com"),
    ("Dan Dorsey", "dan@example.com"),
    ("Erin Eklund", "erin@example.com"),
    ("Femi Folarin", "femi@example.com"),
    ("Grace Gomez", "grace@example.com"),
    ("Hiro Hayashi", "hiro@example.com"),
    ("Ines Ibarra", "ines@example.com"),
    ("Jon Jensen", "jon@example.com"),
    ("Kira Kowalski", "kira@example.com"),
    ("Lars Lund", "lars@example.com"),
]

SCALES = {
    # main-line commits, branches, tags, modules, parts per module, files
    # per part in the initial import, an asset change every N commits,
    # asset size range (KiB), number of asset paths, large images and
    # their size (KiB).
    "full": dict(main=9500, branches=50, tags=200, modules=24, subdirs=6,
                 files0=4, bin_every=20, bin_lo=64, bin_hi=448,
                 asset_slots=80, big_assets=2, big_kib=2048),
    "quick": dict(main=420, branches=6, tags=20, modules=6, subdirs=3,
                  files0=3, bin_every=12, bin_lo=32, bin_hi=256,
                  asset_slots=12, big_assets=1, big_kib=512),
}


class History:
    def __init__(self, scale, out):
        self.p = SCALES[scale]
        self.rng = Rng(0xB0B5 if scale == "full" else 0x5EED)
        self.st = Stream(out)
        self.mark = 0
        self.time = 1500000000
        self.files = {}        # path -> list of lines (main line state)
        self.assets = {}       # path -> bytes
        self.serial = 0
        self.fresh_bytes = 0

    # -- helpers ---------------------------------------------------------

    def tick(self):
        self.time += self.rng.between(60, 7200)
        return self.time

    def person(self):
        return AUTHORS[self.rng.below(len(AUTHORS))]

    def dir_list(self):
        p = self.p
        return ["src/mod%02d/part%d" % (m, s)
                for m in range(p["modules"]) for s in range(p["subdirs"])]

    def new_path(self, d):
        self.serial += 1
        ext = ".h" if self.rng.chance(250) else ".c"
        return "%s/%s_%d%s" % (d, self.rng.pick(WORDS), self.serial, ext)

    def commit(self, ref, msg, changes, parent=None, merge=None):
        """changes: list of (path, bytes) or (path, None) for a deletion."""
        self.mark += 1
        name, mail = self.person()
        t = self.tick()
        st = self.st
        st.raw("commit %s\nmark :%d\n" % (ref, self.mark))
        st.raw("author %s <%s> %d +0000\n" % (name, mail, t))
        st.raw("committer %s <%s> %d +0000\n" % (name, mail, t))
        st.data(msg)
        if parent is not None:
            st.raw("from :%d\n" % parent)
        if merge is not None:
            st.raw("merge :%d\n" % merge)
        for path, content in changes:
            if content is None:
                st.raw("D %s\n" % path)
            else:
                st.raw("M 100644 inline %s\n" % path)
                st.data(content)
        st.raw("\n")
        return self.mark

    def message(self, files):
        verb = self.rng.pick(("Fix", "Improve", "Refactor", "Add", "Update",
                              "Simplify", "Document", "Speed up"))
        subj = "%s %s in %s" % (verb, self.rng.pick(WORDS),
                                files[0].split("/")[-1] if files else "tree")
        body = "\n".join(text_line(self.rng) for _ in range(self.rng.between(0, 4)))
        return subj + ("\n\n" + body + "\n" if body else "\n")

    # -- one change set on a given file state ------------------------------

    def text_changes(self, files, dirs):
        """Edit files of 'files' (modified in place); return the changes."""
        rng = self.rng
        changes = []
        by_dir = {}
        for path in files:
            by_dir.setdefault(path.rsplit("/", 1)[0], []).append(path)
        ndirs = rng.pick((1, 1, 2, 2, 2, 3, 3, 4))
        for _ in range(ndirs):
            d = rng.pick(dirs)
            present = by_dir.get(d, [])
            nfiles = rng.pick((1, 1, 2, 2, 3, 4))
            for _ in range(nfiles):
                if not present or rng.chance(40):
                    path = self.new_path(d)
                    files[path] = new_text(rng, path, rng.between(15, 90))
                    present.append(path)
                    by_dir[d] = present
                else:
                    path = rng.pick(present)
                    if rng.chance(8) and len(present) > 3:
                        del files[path]
                        present.remove(path)
                        changes.append((path, None))
                        continue
                    files[path] = edit_text(rng, files[path], path)
                changes.append((path, text_bytes(files[path])))
        # Keep one change per path (the last).
        seen = {}
        for path, content in changes:
            seen[path] = content if path in files else None
        return [(path, seen[path]) for path in seen]

    def binary_change(self, n):
        """Add or replace an asset on the main line."""
        rng = self.rng
        p = self.p
        slots = sorted(self.assets)
        if len(slots) < p["asset_slots"] and (not slots or rng.chance(500)):
            path = "assets/set%d/%s_%d.bin" % (rng.below(8), rng.pick(WORDS), n)
        else:
            path = rng.pick(slots)
        size = rng.between(p["bin_lo"], p["bin_hi"]) * 1024
        old = self.assets.get(path)
        if old is not None and rng.chance(250):
            # A partial rewrite: most bytes stay, one region changes.
            at = rng.below(max(1, len(old) - size // 8))
            patch = random_bytes("patch-%d" % n, size // 8)
            content = old[:at] + patch + old[at + len(patch):]
            self.fresh_bytes += len(patch)
        else:
            content = random_bytes("asset-%d" % n, size)
            self.fresh_bytes += size
        self.assets[path] = content
        return [(path, content)]

    # -- the history ---------------------------------------------------------

    def run(self):
        p = self.p
        rng = self.rng
        st = self.st
        st.raw("feature done\n")
        dirs = self.dir_list()

        # Initial import.
        changes = []
        for d in dirs:
            for _ in range(p["files0"]):
                path = self.new_path(d)
                self.files[path] = new_text(rng, path, rng.between(15, 90))
                changes.append((path, text_bytes(self.files[path])))
        for m in range(p["modules"]):
            path = "src/mod%02d/README.md" % m
            self.files[path] = new_text(rng, path, rng.between(10, 40))
            changes.append((path, text_bytes(self.files[path])))
        for i in range(12):
            path = "docs/chapter%02d.md" % i
            self.files[path] = new_text(rng, path, rng.between(40, 200))
            changes.append((path, text_bytes(self.files[path])))
        dirs_all = dirs + ["docs", "src/mod%02d" % 0]
        tip = self.commit("refs/heads/main", "Initial import\n", changes)

        # Where branches fork, and where tags go.
        forks = {}
        for b in range(p["branches"]):
            at = (b + 1) * p["main"] // (p["branches"] + 1)
            forks.setdefault(at, []).append(b)
        tag_at = {}
        for t in range(p["tags"]):
            at = (t + 1) * p["main"] // (p["tags"] + 1)
            tag_at.setdefault(at, []).append(t)
        merges = {}            # main index -> list of (branch tip, changes)
        big_every = max(1, p["main"] // (p["big_assets"] * 5 + 1))

        for n in range(1, p["main"] + 1):
            if n % p["bin_every"] == 0:
                changes = self.text_changes(self.files, dirs_all)
                changes += self.binary_change(n)
                msg = self.message([c[0] for c in changes])
            elif n % big_every == 0:
                # A few large assets, rewritten now and then.
                k = (n // big_every) % p["big_assets"]
                path = "assets/firmware/image%d.img" % k
                content = random_bytes("big-%d" % n, p["big_kib"] * 1024)
                self.fresh_bytes += len(content)
                changes = [(path, content)]
                msg = "Update firmware image %d\n" % k
            else:
                changes = self.text_changes(self.files, dirs_all)
                msg = self.message([c[0] for c in changes])
            for btip, bchanges in merges.pop(n, []):
                # A merge: take the branch's version of what it changed.
                for path, content in bchanges.items():
                    if content is None:
                        self.files.pop(path, None)
                    else:
                        self.files[path] = content
                mchanges = [(path, None if c is None else text_bytes(c))
                            for path, c in bchanges.items()]
                tip = self.commit("refs/heads/main", "Merge branch\n",
                                  mchanges, parent=tip, merge=btip)
            if changes:
                tip = self.commit("refs/heads/main", msg, changes, parent=tip)
            for b in forks.get(n, []):
                self.branch(b, tip, n, merges)
            for t in tag_at.get(n, []):
                self.tag(t, tip)
        st.raw("done\n")
        sys.stderr.write("genrepo: %d commits, %d text files, %d assets, "
                         "%.1f MiB of random bytes\n"
                         % (self.mark, len(self.files), len(self.assets),
                            self.fresh_bytes / 1048576.0))

    def branch(self, b, base, n, merges):
        rng = self.rng
        kinds = ("feature", "bugfix", "release", "topic", "wip")
        name = "%s/%s-%d" % (kinds[b % len(kinds)], rng.pick(WORDS), b)
        ref = "refs/heads/" + name
        files = dict(self.files)
        changed = {}
        tip = base
        mod = "src/mod%02d" % rng.below(self.p["modules"])
        dirs = [d for d in self.dir_list() if d.startswith(mod)]
        for _ in range(rng.between(3, 30)):
            changes = self.text_changes(files, dirs)
            if not changes:
                continue
            for path, content in changes:
                changed[path] = files.get(path)
            tip = self.commit(ref, self.message([c[0] for c in changes]),
                              changes, parent=tip)
        if tip == base:
            self.st.raw("reset %s\nfrom :%d\n\n" % (ref, base))
        elif b % 5 < 3:
            merges.setdefault(n + rng.between(5, 60), []).append((tip, changed))

    def tag(self, t, tip):
        name = "v%d.%d.%d" % (1 + t // 40, (t // 8) % 5, t % 8)
        if t % 2 == 0:
            who, mail = AUTHORS[t % len(AUTHORS)]
            self.st.raw("tag %s\nfrom :%d\ntagger %s <%s> %d +0000\n"
                        % (name, tip, who, mail, self.time))
            self.st.data("Release %s\n" % name)
        else:
            self.st.raw("reset refs/tags/%s\nfrom :%d\n\n" % (name, tip))


def cmd_history(args):
    out = sys.stdout.buffer
    History(args.scale, out).run()
    out.flush()


def git(args, git_dir, **kw):
    return subprocess.run(["git", "--git-dir=" + git_dir] + args,
                          check=True, stdout=subprocess.PIPE, **kw).stdout


def cmd_commits(args):
    rng = Rng(args.seed)
    base = git(["rev-parse", "--verify", args.base + "^{commit}"],
               args.git_dir).decode().strip()
    listing = git(["ls-tree", "-r", "--full-tree", base], args.git_dir)
    texts = []
    for line in listing.decode().splitlines():
        meta, path = line.split("\t", 1)
        mode, typ, oid = meta.split()
        if typ == "blob" and mode == "100644" and \
                path.startswith("src/") and path.endswith(".c"):
            texts.append((path, oid))
    if not texts:
        sys.exit("genrepo: no text files in %s" % args.base)
    # Read a pool of files to edit, all at once.
    pool = [texts[rng.below(len(texts))] for _ in range(min(64, len(texts)))]
    pool = sorted(dict(pool).items())
    req = "".join(oid + "\n" for _, oid in pool).encode()
    raw = git(["cat-file", "--batch"], args.git_dir, input=req)
    files = {}
    pos = 0
    for path, oid in pool:
        nl = raw.index(b"\n", pos)
        size = int(raw[pos:nl].split()[2])
        body = raw[nl + 1:nl + 1 + size]
        pos = nl + 1 + size + 1
        files[path] = body.decode("utf-8", "replace").rstrip("\n").split("\n")
    paths = sorted(files)

    out = sys.stdout.buffer
    st = Stream(out)
    t = args.time
    for i in range(args.commits):
        t += 60 + rng.below(600)
        name, mail = AUTHORS[rng.below(len(AUTHORS))]
        st.raw("commit %s\n" % args.ref)
        st.raw("author %s <%s> %d +0000\n" % (name, mail, t))
        st.raw("committer %s <%s> %d +0000\n" % (name, mail, t))
        st.data("Change %d of series %d\n\n%s\n" % (i + 1, args.seed,
                                                    text_line(rng)))
        if i == 0:
            st.raw("from %s\n" % base)
        for _ in range(rng.between(1, 3)):
            path = paths[rng.below(len(paths))]
            files[path] = edit_text(rng, files[path], path)
            st.raw("M 100644 inline %s\n" % path)
            st.data(text_bytes(files[path]))
        if i == args.commits - 1 and args.blob_bytes > 0:
            st.raw("M 100644 inline assets/incoming/series-%d.bin\n" % args.seed)
            st.data(random_bytes("series-%d" % args.seed, args.blob_bytes))
        st.raw("\n")
    st.raw("done\n")
    out.flush()


def cmd_refs(args):
    if args.count < 0:
        sys.exit("genrepo: --count must not be negative")
    commits = git(["rev-list", "--first-parent", "refs/heads/main"],
                  args.git_dir).split()
    if not commits:
        sys.exit("genrepo: no commits on main in %s" % args.git_dir)
    listing = git(["for-each-ref",
                   "--format=%(objectname) %(refname) %(*objectname)"],
                  args.git_dir)
    refs = {}
    for line in listing.splitlines():
        f = line.split(b" ")
        refs[f[1]] = (f[0], f[2] if len(f) > 2 and f[2] else None)
    added = 0
    n = 0
    while added < args.count:
        if n % 5 < 3:
            name = b"refs/heads/team%d/topic-%06d" % (n % 97, n)
        else:
            name = b"refs/tags/build-%06d" % n
        n += 1
        if name in refs:
            continue
        refs[name] = (commits[(n * 7919) % len(commits)], None)
        added += 1
    out = [b"# pack-refs with: peeled fully-peeled sorted \n"]
    for name in sorted(refs):
        oid, peeled = refs[name]
        out.append(b"%s %s\n" % (oid, name))
        if peeled:
            out.append(b"^%s\n" % peeled)
    path = os.path.join(args.git_dir, "packed-refs")
    with open(path + ".new", "wb") as f:
        f.write(b"".join(out))
    os.replace(path + ".new", path)


def main():
    ap = argparse.ArgumentParser(prog="genrepo.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("history")
    h.add_argument("--scale", choices=sorted(SCALES), default="full")
    c = sub.add_parser("commits")
    c.add_argument("--git-dir", required=True)
    c.add_argument("--from", dest="base", required=True)
    c.add_argument("--ref", required=True)
    c.add_argument("--commits", type=int, required=True)
    c.add_argument("--blob-bytes", type=int, default=0)
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--time", type=int, default=1800000000)
    r = sub.add_parser("refs")
    r.add_argument("--git-dir", required=True)
    r.add_argument("--count", type=int, required=True)
    args = ap.parse_args()
    if args.cmd == "history":
        cmd_history(args)
    elif args.cmd == "refs":
        cmd_refs(args)
    else:
        cmd_commits(args)


if __name__ == "__main__":
    main()
