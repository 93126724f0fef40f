#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# lfs.cgi - the Git LFS server of the test forge (see README.md).
#
# gate.cgi runs this for every request below <repo>/info/lfs/ once it has
# checked the token, with FORGE_LFS_PERM set to "read" or "write", and
# FORGE_LFS_REPO to the repository's path below the forge's repos/.  It
# speaks the Git LFS batch API with the "basic" transfer adapter:
#
#   POST <repo>/info/lfs/objects/batch        (operation download|upload)
#   GET  <repo>/info/lfs/objects/<oid>        download
#   PUT  <repo>/info/lfs/objects/<oid>        upload, SHA-256 checked
#   POST <repo>/info/lfs/verify               upload verification
#
# Uploads need a write token; a read-only token gets 403 with a message.
# Objects live in FORGE/lfs/<repo>/<oid>.  Every request is logged to
# FORGE/logs/lfs.log as "METHOD PATH STATUS OPERATION"; credentials never
# reach this program (the gate keeps them).

import hashlib
import json
import os
import re
import sys
import tempfile

OID = re.compile(r"^[0-9a-f]{64}$")
MAX_BATCH = 1 << 20
MAX_OBJECT = 64 << 20

home = os.environ.get("FORGE_GATE_HOME", "")
perm = os.environ.get("FORGE_LFS_PERM", "")
repo = os.environ.get("FORGE_LFS_REPO", "")
method = os.environ.get("REQUEST_METHOD", "GET")
path = os.environ.get("PATH_INFO", "/")
scheme = "https" if os.environ.get("HTTPS", "") == "on" else "http"
host = os.environ.get("HTTP_HOST", "127.0.0.1")
store = os.path.join(home, "lfs", repo)
out = sys.stdout.buffer


def log(status, op="-"):
    safe = re.sub(r"[^A-Za-z0-9/._-]", "_", path)[:200]
    try:
        with open(os.path.join(home, "logs", "lfs.log"), "a") as f:
            f.write("%s %s %d %s\n" % (method, safe, status, op))
    except OSError:
        pass


def reply(status, body=None, ctype="application/vnd.git-lfs+json", op="-"):
    text = {200: "OK", 400: "Bad Request", 403: "Forbidden",
            404: "Not Found", 405: "Method Not Allowed",
            413: "Payload Too Large", 422: "Unprocessable Entity"}
    log(status, op)     # before the answer: a test may read it right after
    out.write(("Status: %d %s\r\n" % (status, text.get(status, "Error")))
              .encode())
    out.write(("Content-Type: %s\r\n\r\n" % ctype).encode())
    if body is not None:
        out.write(json.dumps(body).encode() if not isinstance(body, bytes)
                  else body)
    out.flush()
    sys.exit(0)


def read_body(limit):
    try:
        n = int(os.environ.get("CONTENT_LENGTH", "0") or "0")
    except ValueError:
        reply(400, {"message": "bad Content-Length"})
    if n < 0 or n > limit:
        reply(413, {"message": "request too large"})
    data = b""
    while len(data) < n:
        chunk = sys.stdin.buffer.read(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def object_path(oid):
    return os.path.join(store, oid)


def base_url():
    # the URL of this repository's LFS endpoint, as the client reached it
    prefix = path[:path.index("/info/lfs/")]
    return "%s://%s%s/info/lfs" % (scheme, host, prefix)


def batch():
    try:
        req = json.loads(read_body(MAX_BATCH))
        op = req["operation"]
        objects = req["objects"]
        if op not in ("download", "upload") or not isinstance(objects, list):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        reply(400, {"message": "malformed batch request"})
    if op == "upload" and perm != "write":
        reply(403, {"message": "this token cannot write Git LFS objects "
                    "of the repository (read-only access)"}, op=op)
    answer = []
    for o in objects:
        oid = o.get("oid", "") if isinstance(o, dict) else ""
        size = o.get("size", -1) if isinstance(o, dict) else -1
        if not OID.match(str(oid)) or not isinstance(size, int) or size < 0:
            answer.append({"oid": str(oid)[:64], "size": 0, "error":
                           {"code": 422, "message": "bad object"}})
            continue
        href = "%s/objects/%s" % (base_url(), oid)
        have = os.path.isfile(object_path(oid))
        item = {"oid": oid, "size": size, "authenticated": False}
        if op == "download":
            if not have:
                item["error"] = {"code": 404, "message": "object not found"}
            else:
                item["actions"] = {"download": {"href": href}}
        elif not have:
            item["actions"] = {
                "upload": {"href": href},
                "verify": {"href": base_url() + "/verify"},
            }
        answer.append(item)
    reply(200, {"transfer": "basic", "objects": answer}, op=op)


def download(oid):
    p = object_path(oid)
    if not os.path.isfile(p):
        reply(404, {"message": "object not found"}, op="download")
    with open(p, "rb") as f:
        data = f.read()
    reply(200, data, ctype="application/octet-stream", op="download")


def upload(oid):
    if perm != "write":
        reply(403, {"message": "read-only access"}, op="upload")
    data = read_body(MAX_OBJECT)
    if hashlib.sha256(data).hexdigest() != oid:
        reply(422, {"message": "the object does not match its oid"},
              op="upload")
    os.makedirs(store, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=store)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, object_path(oid))
    reply(200, b"", ctype="text/plain", op="upload")


def verify():
    if perm != "write":
        reply(403, {"message": "read-only access"}, op="verify")
    try:
        req = json.loads(read_body(MAX_BATCH))
        oid, size = req["oid"], req["size"]
    except (ValueError, KeyError, TypeError):
        reply(400, {"message": "malformed verify request"})
    p = object_path(str(oid)) if OID.match(str(oid)) else None
    if p is None or not os.path.isfile(p) or os.path.getsize(p) != size:
        reply(404, {"message": "object not found"}, op="verify")
    reply(200, {}, op="verify")


def main():
    if not home or ".." in repo.split("/") or not repo:
        reply(404, {"message": "no repository"})
    rest = path[path.index("/info/lfs/") + len("/info/lfs/"):]
    if rest == "objects/batch" and method == "POST":
        batch()
    m = re.match(r"^objects/([0-9a-f]{64})$", rest)
    if m and method == "GET":
        download(m.group(1))
    if m and method == "PUT":
        upload(m.group(1))
    if rest == "verify" and method == "POST":
        verify()
    reply(404, {"message": "not found"})


main()
