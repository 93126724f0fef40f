#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# hostile-git.py - a smart-HTTP git server that lies, for the tests.
#
# It serves the bare repository DIR/repo.git through git's own
# upload-pack and receive-pack, then tampers with what it sends as the
# file DIR/tamper.json (re-read on every request) says:
#
#   {"rename": {"refs/heads/main": "<any name>"},  advertised names
#    "caps": ["<from>", "<to>"],                  replace in the capabilities
#    "err": "<text>",                             advertise only "ERR <text>"
#    "progress": "<text>",                        send this on band 2 before
#                                                 the pack of a fetch
#    "pack": "<file>",                            answer a fetch's last request
#                                                 with NAK and this pack file
#                                                 (of other objects) instead
#    "cut_pack": true,                            send only the first half of
#                                                 the pack of a fetch, then a
#                                                 clean flush
#    "extra_refs": [["<oid>", "<name>"], ...]     more refs advertised after
#                                                 the others
#    "band3": "<text>",                           answer a fetch's last request
#                                                 with this error on band 3
#    "report": [[BAND, "<text>"], ...]}           answer every push with
#                                                 these side-band-64k packets
#                                                 instead of running
#                                                 receive-pack: band 1 text is
#                                                 sent as one report-status
#                                                 pkt-line (null: its flush),
#                                                 band 2 and 3 text as is;
#                                                 BAND 0 is the final flush
#
# Strings are JSON; each character U+0000..U+00FF is one byte, so any byte
# can be sent.  It listens on 127.0.0.1, writes DIR/port when it is ready
# and serves until it is killed.
#
# Usage: hostile-git.py DIR

import http.server
import json
import os
import socketserver
import subprocess
import sys

DIR = os.path.abspath(sys.argv[1])
REPO = os.path.join(DIR, "repo.git")


def pkt(data):
    return b"%04x" % (len(data) + 4) + data


def tamper():
    try:
        with open(os.path.join(DIR, "tamper.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def latin1(s):
    return s.encode("latin-1")


def split_pkts(data):
    """The pkt-lines of data: payloads, None for a flush."""
    out, off = [], 0
    while off + 4 <= len(data):
        n = int(data[off:off + 4], 16)
        if n == 0:
            out.append(None)
            off += 4
            continue
        out.append(data[off + 4:off + n])
        off += n
    return out


def rewrite_adv(adv, t):
    rename = {latin1(k): latin1(v) for k, v in t.get("rename", {}).items()}
    caps = t.get("caps")
    extra = t.get("extra_refs", [])
    out = b""
    for p in split_pkts(adv):
        if p is None:
            for oid, name in extra:
                out += pkt(latin1(oid + " " + name) + b"\n")
            extra = []
            out += b"0000"
            continue
        line = p.rstrip(b"\n")
        head, nul, rest = line.partition(b"\0")
        oid, sp, name = head.partition(b" ")
        if sp and name in rename:
            name = rename[name]
        if nul and caps:
            rest = rest.replace(latin1(caps[0]), latin1(caps[1]))
        out += pkt(oid + sp + name + nul + rest + b"\n")
    return out


def band1_packets(data):
    """data as side-band band-1 packets, each at most 65520 bytes long."""
    out = b""
    for off in range(0, len(data), 65515):
        out += pkt(b"\1" + data[off:off + 65515])
    return out


def cut_pack(out):
    """Keep what comes before the pack and half of the pack, then flush."""
    head, pack = b"", b""
    for p in split_pkts(out):
        if p is None:
            continue
        if p[:1] == b"\1":
            pack += p[1:]
        elif not pack:
            head += pkt(p)
    return head + band1_packets(pack[:len(pack) // 2]) + b"0000"


def add_progress(out, text):
    """Put a band-2 packet with text before the first band-1 packet."""
    res, done = b"", False
    for p in split_pkts(out):
        if p is None:
            res += b"0000"
            continue
        if not done and p[:1] == b"\1":
            res += pkt(b"\2" + text)
            done = True
        res += pkt(p)
    return res


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        with open(os.path.join(DIR, "server.log"), "a") as f:
            f.write("%s\n" % (fmt % args))

    def reply(self, ctype, body):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                n = int(self.rfile.readline().split(b";")[0], 16)
                if n == 0:
                    self.rfile.readline()
                    return body
                body += self.rfile.read(n)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def do_GET(self):
        path, _, query = self.path.partition("?")
        service = query.partition("service=")[2]
        if not path.endswith("/info/refs") or service not in (
                "git-upload-pack", "git-receive-pack"):
            self.send_error(404)
            return
        adv = subprocess.run(
            ["git", service[4:], "--stateless-rpc", "--advertise-refs",
             REPO], check=True, stdout=subprocess.PIPE).stdout
        body = pkt(b"# service=" + service.encode() + b"\n") + b"0000"
        t = tamper()
        if "err" in t:
            body += pkt(b"ERR " + latin1(t["err"]))
        else:
            body += rewrite_adv(adv, t)
        self.reply("application/x-%s-advertisement" % service, body)

    def do_POST(self):
        service = self.path.rpartition("/")[2]
        if service not in ("git-upload-pack", "git-receive-pack"):
            self.send_error(404)
            return
        body = self.read_body()
        t = tamper()
        if service == "git-receive-pack" and "report" in t:
            out = b""
            for band, text in t["report"]:
                if band == 0:
                    out += b"0000"
                elif band == 1:
                    inner = b"0000" if text is None else pkt(latin1(text))
                    out += pkt(b"\1" + inner)
                else:
                    out += pkt(bytes([band]) + latin1(text))
        else:
            # what it says even when it fails (an ERR packet, then exit 128)
            out = subprocess.run(
                ["git", service[4:], "--stateless-rpc", REPO], input=body,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
            if service == "git-upload-pack" and "progress" in t:
                out = add_progress(out, latin1(t["progress"]))
            if (service == "git-upload-pack" and "pack" in t and
                    b"done" in body):
                with open(t["pack"], "rb") as f:
                    out = pkt(b"NAK\n") + band1_packets(f.read()) + b"0000"
            elif service == "git-upload-pack" and t.get("cut_pack"):
                out = cut_pack(out)
            if (service == "git-upload-pack" and "band3" in t and
                    b"done" in body):
                out = pkt(b"NAK\n") + pkt(b"\3" + latin1(t["band3"]))
        self.reply("application/x-%s-result" % service, out)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    tmp = os.path.join(DIR, "port.tmp")
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, os.path.join(DIR, "port"))
    srv.serve_forever()


main()
