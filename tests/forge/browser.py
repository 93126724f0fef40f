#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# browser.py URL - a stand-in for the user's web browser in the tests.
#
# Tests set BROWSER to this program, so that a program under test that
# "opens the browser" on an authorization URL gets this instead.  It:
#
#   1. GETs URL (an authorization URL or a device verification URL),
#      following redirects within that server's origin with cookies kept,
#      and parses the consent form (of tests/forge/oauth-server.py, or of
#      the strict server in tests/forge/oidc: a form with "decision"
#      buttons; several pages in a row are answered alike);
#   2. submits the decision: approve, or deny with
#      BBS_TEST_BROWSER_DECISION=deny;
#   3. takes the redirect (302 Location) without following it, and
#      - with BBS_TEST_BROWSER_PRINT=FILE, writes the Location into FILE
#        and stops there (paste-back tests);
#      - for http://127.0.0.1, http://[::1] or http://localhost, GETs it
#        (this hands the code to the program's loopback listener) and
#        prints the page it gets to stderr;
#      - for a private-use scheme (anything but http/https), runs
#        "git bbs callback LOCATION", as the desktop's URL handler would.
#      The device flow has no redirect: the decision page ends it.
#
# Environment:
#   BBS_TEST_BROWSER_DECISION   approve (default) or deny
#   BBS_TEST_BROWSER_PRINT      file to write the final Location into
#   BBS_TEST_BROWSER_DELAY      seconds to wait before anything else
#   BBS_TEST_BROWSER_LOG        file to append "opened SCHEME://HOST:PORT/PATH"
#                               (never the query) to
#   BBS_TEST_BROWSER_USER_CODE  a user code to type into a device page that
#                               asks for one
#   BBS_TEST_BROWSER_SCAN       file to write, before the consent, which
#                               processes carry the URL's state or
#                               code_challenge in their command line
#                               ("clean" when none does)
#
# URL may be a file: URL of a local page that sends the browser on with
# <meta http-equiv=refresh>, as a browser follows it; the page must be
# readable by its owner only.
#
# It only ever talks to 127.0.0.1, [::1] and localhost.  Exit status 0 on
# success; otherwise a message on stderr and a non-zero status.  Codes and
# tokens are never printed (a Location is shown without its query).

import html.parser
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

PROG = "browser.py"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
TIMEOUT = 30


class Failure(Exception):
    pass


def without_query(url):
    p = urllib.parse.urlsplit(url)
    if p.scheme in ("http", "https"):
        return urllib.parse.urlunsplit((p.scheme, p.netloc, p.path, "", ""))
    return p.scheme + ":" + (p.netloc and "//" + p.netloc) + p.path


def check_local(url):
    try:
        p = urllib.parse.urlsplit(url)
        host = p.hostname
        p.port
    except ValueError:
        raise Failure("malformed URL: %s" % without_query(url))
    if p.scheme not in ("http", "https"):
        raise Failure("not an http URL: %s" % without_query(url))
    if host not in LOOPBACK:
        raise Failure("refusing to contact %s: only 127.0.0.1, [::1] and "
                      "localhost are allowed" % (host or "(no host)"))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                     urllib.request.HTTPCookieProcessor(),
                                     NoRedirect())


def request(url, data=None):
    """Return (status, headers, body text); redirects are not followed."""
    check_local(url)
    req = urllib.request.Request(url, data=data)
    req.add_header("User-Agent", "bbs-test-browser/1")
    if data is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with OPENER.open(req, timeout=TIMEOUT) as resp:
            return resp.status, resp.headers, \
                resp.read(1 << 20).decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        body = e.read(1 << 20).decode("utf-8", "replace") if e.fp else ""
        return e.code, e.headers, body
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise Failure("cannot reach %s: %s" % (without_query(url), reason))


class FormParser(html.parser.HTMLParser):
    """Collect the forms of a page: method, action, fields, buttons."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self.form = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.form = {"method": a.get("method", "get").lower(),
                         "action": a.get("action", ""),
                         "fields": [], "buttons": [], "text": []}
            self.forms.append(self.form)
        elif self.form is None:
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "submit":
                self.form["buttons"].append((a.get("name"), a.get("value", "")))
            elif kind == "hidden":
                self.form["fields"].append((a.get("name"), a.get("value", "")))
            elif kind == "text":
                self.form["text"].append(a.get("name"))
        elif tag == "button":
            if a.get("type", "submit").lower() == "submit":
                self.form["buttons"].append((a.get("name"), a.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None


def page_text(body):
    """A rough plain-text rendering of a page, for stderr."""
    class Text(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.parts = []

        def handle_data(self, data):
            if data.strip():
                self.parts.append(" ".join(data.split()))
    t = Text()
    t.feed(body)
    return "\n".join(t.parts)


def deliver(location):
    """Hand the final redirect to its destination."""
    out = os.environ.get("BBS_TEST_BROWSER_PRINT")
    if out:
        with open(out, "w") as f:
            f.write(location + "\n")
        return 0
    scheme = urllib.parse.urlsplit(location).scheme.lower()
    if scheme == "http":
        status, _, body = request(location)
        sys.stderr.write("%s: %s answered %d\n" % (PROG, without_query(location),
                                                  status))
        if body:
            sys.stderr.write(page_text(body) + "\n")
        return 0
    if scheme == "https" or not scheme:
        raise Failure("unexpected redirect to %s" % without_query(location))
    git = shutil.which("git")
    if not git:
        raise Failure("git is not in PATH")
    sys.stderr.write("%s: handing %s to git bbs callback\n"
                     % (PROG, without_query(location)))
    sys.stderr.flush()
    return subprocess.call([git, "bbs", "callback", location],
                           stdin=subprocess.DEVNULL)


class RefreshParser(html.parser.HTMLParser):
    """The target of a page's <meta http-equiv=refresh>."""

    def __init__(self):
        super().__init__()
        self.target = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            m = re.match(r"\s*\d+\s*;\s*url=(.*)$", a.get("content", ""),
                         re.I | re.S)
            if m and self.target is None:
                self.target = m.group(1).strip()


def open_file(url):
    """Follow a local page's refresh; return the URL it sends us to."""
    p = urllib.parse.urlsplit(url)
    if p.netloc not in ("", "localhost") or p.query:
        raise Failure("malformed file URL")
    path = urllib.parse.unquote(p.path)
    st = os.stat(path)
    if st.st_mode & 0o077:
        raise Failure("the local page %s may be read by others" % path)
    with open(path, encoding="utf-8") as f:
        parser = RefreshParser()
        parser.feed(f.read(1 << 20))
    if not parser.target:
        raise Failure("the local page %s does not redirect" % path)
    return parser.target


def scan_cmdlines(url, out):
    """Which processes show the URL's state or code challenge in argv."""
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    secrets = [v.encode() for k in ("state", "code_challenge")
               for v in q.get(k, []) if v]
    if not secrets:
        raise Failure("no state or code_challenge in the URL")
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if any(s in cmd for s in secrets):
            found.append("pid %s: %s" % (pid, cmd.split(b"\0")[0].decode(
                "utf-8", "replace")))
    with open(out, "w") as f:
        f.write("\n".join(found) + "\n" if found else "clean\n")


def run(url):
    if url.startswith("file:"):
        url = open_file(url)
    scan = os.environ.get("BBS_TEST_BROWSER_SCAN")
    if scan:
        scan_cmdlines(url, scan)
    log = os.environ.get("BBS_TEST_BROWSER_LOG")
    if log:
        with open(log, "a") as f:
            f.write("opened %s\n" % without_query(url))
    delay = os.environ.get("BBS_TEST_BROWSER_DELAY")
    if delay:
        time.sleep(float(delay))
    decision = os.environ.get("BBS_TEST_BROWSER_DECISION") or "approve"
    if decision not in ("approve", "deny"):
        raise Failure("BBS_TEST_BROWSER_DECISION must be approve or deny")

    status, headers, body, url = fetch(url)
    submitted = False
    for _ in range(8):
        if status in (301, 302, 303, 307, 308):
            # Elsewhere than the server: the redirect of the decision, or
            # an error the authorization endpoint answered by redirect.
            location = headers.get("Location")
            if not location:
                raise Failure("redirect without a Location")
            return deliver(urllib.parse.urljoin(url, location))
        if status != 200:
            raise Failure("%s answered %d: %s" % (without_query(url), status,
                                                 page_text(body)[:300]))
        parser = FormParser()
        parser.feed(body)
        forms = [f for f in parser.forms
                 if any(n == "decision" for n, _ in f["buttons"])]
        form = next((f for f in forms
                     if ("decision", decision) in f["buttons"]),
                    forms[0] if forms else None)
        auto = next((f for f in parser.forms if
                     not f["text"] and f["fields"]), None)
        if form is None and auto is not None and "submit()" in body:
            # A form that a script submits on load (response_mode
            # form_post style): a browser would send it as it is.
            action = urllib.parse.urljoin(url, auto["action"] or url)
            status, headers, body, url = submit(
                auto, action, [(n, v) for n, v in auto["fields"] if n])
            continue
        if form is None and submitted:
            # The device flow: the page after the decision is the end.
            sys.stderr.write(page_text(body) + "\n")
            return 0
        if form is None:
            # A device page that asks for the user code first.
            ask = next((f for f in parser.forms if "user_code" in f["text"]),
                       None)
            code = os.environ.get("BBS_TEST_BROWSER_USER_CODE")
            if ask is None or not code:
                raise Failure("no consent form on %s" % without_query(url))
            action = urllib.parse.urljoin(url, ask["action"] or url)
            fields = [(n, v) for n, v in ask["fields"] if n]
            fields.append(("user_code", code))
            status, headers, body, url = submit(ask, action, fields)
            continue
        action = urllib.parse.urljoin(url, form["action"] or url)
        fields = [(n, v) for n, v in form["fields"] if n]
        fields.append(("decision", decision))
        status, headers, body, url = submit(form, action, fields)
        submitted = True
    raise Failure("no end to the pages of %s" % without_query(url))


def submit(form, action, fields):
    data = urllib.parse.urlencode(fields)
    if form["method"] == "post":
        return fetch(action, data.encode("ascii"))
    if form["text"]:
        # a form that asks for input replaces the query
        return fetch(action.split("?")[0] + "?" + data)
    sep = "&" if "?" in action else "?"
    return fetch(action + sep + data)


def same_origin(a, b):
    pa, pb = urllib.parse.urlsplit(a), urllib.parse.urlsplit(b)
    return (pa.scheme, pa.netloc.lower()) == (pb.scheme, pb.netloc.lower())


def fetch(url, data=None):
    """Request url and follow redirects within its origin, as a browser
    would (with cookies).  Returns (status, headers, body, final url)."""
    origin = url
    for _ in range(10):
        status, headers, body = request(url, data)
        location = headers.get("Location") if headers else None
        if status not in (301, 302, 303, 307, 308) or not location:
            return status, headers, body, url
        nxt = urllib.parse.urljoin(url, location)
        if not same_origin(nxt, origin):
            return status, headers, body, url
        url, data = nxt, None
    raise Failure("too many redirects at %s" % without_query(origin))


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: %s URL\n" % PROG)
        return 2
    try:
        return run(argv[1])
    except Failure as e:
        sys.stderr.write("%s: %s\n" % (PROG, e))
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
