#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# oauth-server.py - an OAuth 2.0 authorization server for the tests.
#
# It listens on 127.0.0.1 only, keeps its state in memory and shares the
# access tokens it issues with the test forge: they are added to
# FORGEDIR/tokens ("TOKEN PERM EXPIRES") and removed again on revocation,
# so that a test can sign in and then clone and push with the token.
# Normally started by oauth.sh (see README.md); it serves until SIGTERM.
#
# Usage:
#   oauth-server.py --dir DIR [--forge-dir FORGEDIR] [--port 0]
#       [--mode standards|bitbucket-cloud|datacenter] [--context-path /ctx]
#       [--access-ttl S (3600)] [--refresh-ttl S (0: never)]
#       [--code-ttl S (60; datacenter 10)]
#       [--client-id ID (bbs-test-client)] [--client-secret SECRET]
#       [--redirect-uri URI]... [--default-scope SCOPE]
#       [--device-ttl S (300, env OAUTH_DEVICE_TTL)]
#       [--device-interval S (1, env OAUTH_DEVICE_INTERVAL)]
#       [--username alice] [--display-name Alice] [--no-userinfo]
#
# The client secret comes from the file DIR/client-secret when it exists
# (re-read on every request; it wins over --client-secret).  Without one
# the client is public: it sends its client_id only, and a secret it sends
# anyway is refused.  FORGE_RUN_USER (www-data) owns a new tokens file
# when the server runs as root.
#
# Files written in DIR: port, url (base URL = issuer, with the context
# path), pid, endpoints ("NAME URL" lines), oauth.log.  Read: fault,
# client-secret.
#
# Endpoints, below the context path (the base URL):
#   standards        GET  /.well-known/oauth-authorization-server (RFC 8414)
#                    GET  /.well-known/openid-configuration (same document)
#                    GET  /authorize, POST /authorize/decision
#                    POST /token
#                    POST /device_authorization (RFC 8628),
#                    GET  /device[?user_code=], POST /device/decision
#                    POST /revoke (RFC 7009)
#                    GET  /user
#   bitbucket-cloud  GET  /site/oauth2/authorize, POST .../authorize/decision
#                    POST /site/oauth2/access_token
#                    GET  /user and /2.0/user
#   datacenter       GET  /rest/oauth2/latest/authorize, POST .../decision
#                    POST /rest/oauth2/latest/token
#                    POST /rest/oauth2/latest/revoke
#                    GET  /user (with an X-AUSERNAME header)
#   all              GET  /.oauth-ping (readiness; not logged)
#
# Rules:
#   - redirect URIs are registered (--redirect-uri, repeatable).  Default:
#     http://127.0.0.1/, http://[::1]/, http://127.0.0.1/callback,
#     http://[::1]/callback, http://localhost/callback and
#     org.git-remote-bbs:/callback; bitbucket-cloud: one callback URL,
#     default http://127.0.0.1.  A redirect_uri is accepted when it equals
#     a registered one, the port of a loopback URI (127.0.0.1, [::1],
#     localhost) ignored on both sides and everything else (scheme, host,
#     path, query) compared exactly (RFC 8252 section 7.3); in
#     bitbucket-cloud mode when it begins with the callback URL (string
#     prefix).  A request without redirect_uri uses the registered one
#     when there is exactly one (RFC 6749 section 3.1.2.3).
#   - authorize: an unknown client_id or an unacceptable redirect_uri gets
#     an HTML page with 400, never a redirect.  Other errors are
#     redirected (error, error_description, state, and iss in standards
#     mode).  PKCE: only S256; required in standards mode, and in
#     datacenter mode when the client has no secret; optional otherwise.
#   - the consent page has one form (hidden request_id, buttons
#     decision=approve|deny).  The decision answers 302 to the redirect URI
#     with code and state (and iss=ISSUER in standards mode, RFC 9207), or
#     error=access_denied.  Codes are single-use (a second use revokes the
#     tokens of the first, RFC 6749 section 4.1.2), live --code-ttl
#     seconds, and are bound to the client, the redirect URI and the
#     challenge.
#   - token: POST, application/x-www-form-urlencoded only, no repeated
#     parameter.  Client authentication: client_secret_basic or
#     client_secret_post (not both), or client_id alone for a public
#     client; bitbucket-cloud requires a secret.  401 invalid_client comes
#     with WWW-Authenticate: Basic.  Grants: authorization_code (redirect_uri
#     required when the authorization request had one, and then equal to
#     it, RFC 6749 section 4.1.3; code_verifier: 43-128 unreserved
#     characters, S256),
#     refresh_token (rotation: a new refresh token each time; a reused one
#     revokes the whole grant; optional narrower scope; datacenter needs
#     the original redirect_uri), client_credentials (confidential client
#     only, no refresh token), and in standards mode the device grant
#     (authorization_pending, slow_down adding 5 s to the interval,
#     access_denied, expired_token).  bitbucket-cloud answers every failed
#     refresh with 400 {"error":"invalid_request","error_description":
#     "Invalid refresh_token"}, and its success bodies carry "scopes" (and
#     "state": the grant type) instead of "scope".  Answers have
#     Cache-Control: no-store.
#   - revoke: client authentication as at the token endpoint; an access
#     token is revoked alone, a refresh token revokes its grant; 200 for
#     unknown tokens.
#   - user: Authorization: Bearer ACCESS-TOKEN -> {"username", "uuid",
#     "display_name"}; 401 for a missing, unknown, expired or revoked token.
#     With --no-userinfo there is no user endpoint (404, and none in the
#     metadata): a server that names nobody, unless an ID token does.
#   - ID tokens: in standards mode a token answer for a grant whose scope
#     has "openid" carries an id_token (JWS compact, "alg" RS256 with a
#     random signature: the client checks claims only), claims iss (the
#     issuer), aud (the client id), sub (the uuid), preferred_username
#     (--username), iat and exp (5 minutes).
#   - token values: at_..., rt_..., code_..., device codes dc_..., user
#     codes XXXX-XXXX.
#
# Faults: DIR/fault, read on every request, lines "NAME [ARG...]".  The
# token endpoint faults answer before the request is processed (nothing
# is consumed or rotated):
#   status CODE [ERROR]  CODE with a JSON error body (ERROR defaults to
#                        invalid_request, invalid_client, access_denied,
#                        temporarily_unavailable or server_error)
#   slow SECONDS         sleep first, then answer normally; a client that
#                        hangs up meanwhile is dropped, unanswered and
#                        unlogged, so a killed client's request is never
#                        processed later, in the middle of another test
#   truncated [close]    the first half of a JSON success body (fake
#                        tokens); with "close", Content-Length announces the
#                        whole body and the connection is closed after half
#   malformed            200, text/html, <html>not json</html>
#   oversized            200, a 70 MiB JSON body, streamed
#   crlf-token           200, an access token ending in "\r\nX-Injected: 1"
#   hostile-text         400 invalid_grant, an error_description with
#                        ESC[2J, a newline and a fake "fatal:" line
# and the device authorization endpoint:
#   hostile-user-code    a user_code with a newline and a fake line
#   hostile-verification a verification_uri of http://127.0.0.1.evil.example
# and the metadata document:
#   hostile-metadata     token_endpoint http://localhost:1@192.0.2.2/token
# and the decision of the consent page:
#   wrong-state          another state in the redirect
#   wrong-iss            iss=https://evil.example (in every mode)
#   no-iss               no iss
# and the token answers (their content only; nothing else changes):
#   id-token KIND        the id_token is forged: KIND wrong-iss, wrong-aud,
#                        expired, malformed, or none (no id_token)
#   token-username       a "username" member (--username) in the answer
#   odd-fields           expires_in as a real (TTL + 0.5), the scope as a
#                        JSON list of its words
#
# oauth.log: one line per request, without query string:
#   METHOD PATH STATUS grant_type=G client=C result=R
# G is a known grant type, "other" or "-"; C is the configured client id,
# "unknown" or "-"; R is "ok", an OAuth error code, an HTML page's error
# (invalid_client, invalid_redirect_uri, ...), not_found, or fault-NAME.
#
# Rule for whoever edits this file: no token, code, verifier, secret,
# device code or user code may ever be logged or printed, not even in an
# exception message.

import argparse
import base64
import errno
import fcntl
import hashlib
import hmac
import html
import http.server
import json
import os
import pwd
import re
import secrets
import select
import signal
import ssl
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import uuid

MAX_BODY = 1024 * 1024
OVERSIZED_BYTES = 70 * 1024 * 1024
PENDING_TTL = 600
CODE_TTL = 60
DATACENTER_CODE_TTL = 10
# The registered redirect URIs when no --redirect-uri is given (the same
# as oidc/server.mjs), and Bitbucket Cloud's one callback URL.
DEFAULT_REDIRECTS = (
    "http://127.0.0.1/", "http://[::1]/", "http://127.0.0.1/callback",
    "http://[::1]/callback", "http://localhost/callback",
    "org.git-remote-bbs:/callback",
)
CLOUD_CALLBACK = "http://127.0.0.1"

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
KNOWN_GRANTS = ("authorization_code", "refresh_token", "client_credentials",
                DEVICE_GRANT)

# RFC 7636 section 4.1: code_verifier = 43*128unreserved.  The same
# characters are allowed in a code_challenge.
PKCE_RE = re.compile(r"[A-Za-z0-9._~-]{43,128}")
# RFC 6749 section 3.3: scope-token = 1*NQCHAR.
SCOPE_TOKEN_RE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"


class OAuthError(Exception):
    """An error answered as RFC 6749 section 5.2 JSON."""

    def __init__(self, status, error, description=None):
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description


class PageError(Exception):
    """An error answered as an HTML page (never a redirect)."""

    def __init__(self, status, result, message):
        super().__init__(result)
        self.status = status
        self.result = result
        self.message = message


def b64url_sha256(text):
    digest = hashlib.sha256(text.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_value(prefix):
    return prefix + secrets.token_urlsafe(32)


def write_atomic(path, text, mode=0o644):
    d = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=d)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def loopback_key(uri):
    """(host, path, query) of an http loopback URI without userinfo, or
    None: what RFC 8252 section 7.3 compares once the port is dropped."""
    try:
        parts = urllib.parse.urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "http" or "@" in parts.netloc:
        return None
    host = parts.netloc
    if port is not None:
        host = host[:host.rfind(":")]
    if host not in ("127.0.0.1", "[::1]", "localhost"):
        return None
    return (host, parts.path, parts.query)


# ---------------------------------------------------------------------------
# The forge's token table


class ForgeTokens:
    """FORGEDIR/tokens, shared with forge.sh and the gate.

    Edited under flock(FORGEDIR/.lock), like forge.sh does, and replaced
    atomically (temporary file + rename in the same directory) with the
    owner and mode of the file it replaces.
    """

    def __init__(self, forge_dir, run_user):
        self.dir = forge_dir
        self.run_user = run_user
        # Our own tokens and their expiry, to prune the dead ones.
        self.ours = {}

    def _owner_and_mode(self, path):
        try:
            st = os.stat(path)
            return st.st_uid, st.st_gid, st.st_mode & 0o7777
        except FileNotFoundError:
            pass
        # Like forge.sh: the gate runs as the web server's user when root.
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam(self.run_user)
                return pw.pw_uid, pw.pw_gid, 0o600
            except KeyError:
                pass
        return None, None, 0o600

    def edit(self, add=(), remove=()):
        """add: (token, perm, expires) tuples; remove: tokens."""
        if not self.dir:
            return
        now = int(time.time())
        for token, _, expires in add:
            self.ours[token] = expires
        drop = set(remove)
        for token, expires in list(self.ours.items()):
            if expires <= now:
                drop.add(token)
        for token in drop:
            self.ours.pop(token, None)
        path = os.path.join(self.dir, "tokens")
        with open(os.path.join(self.dir, ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            lines = []
            try:
                with open(path) as f:
                    lines = f.read().splitlines()
            except FileNotFoundError:
                pass
            kept = []
            for line in lines:
                fields = line.split()
                if not fields or fields[0] in drop:
                    continue
                kept.append(line)
            for token, perm, expires in add:
                kept.append("%s %s %d" % (token, perm, expires))
            uid, gid, mode = self._owner_and_mode(path)
            fd, tmp = tempfile.mkstemp(prefix=".tokens-oauth-", dir=self.dir)
            try:
                with os.fdopen(fd, "w") as f:
                    f.write("".join(line + "\n" for line in kept))
                os.chmod(tmp, mode)
                if uid is not None and os.geteuid() == 0:
                    os.chown(tmp, uid, gid)
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise


# ---------------------------------------------------------------------------
# State


class Grant:
    def __init__(self, gid, client_id, scope, redirect_uri):
        self.id = gid
        self.client_id = client_id
        self.scope = scope
        self.redirect_uri = redirect_uri
        self.access = set()
        self.refresh = set()
        self.revoked = False


class Server:
    def __init__(self, args):
        self.args = args
        self.mode = args.mode
        ctx = (args.context_path or "").rstrip("/")
        if ctx and not ctx.startswith("/"):
            ctx = "/" + ctx
        self.ctx = ctx
        self.dir = os.path.abspath(args.dir)
        self.lock = threading.RLock()
        self.log_lock = threading.Lock()
        self.forge = ForgeTokens(
            os.path.abspath(args.forge_dir) if args.forge_dir else None,
            os.environ.get("FORGE_RUN_USER") or "www-data")
        self.pending = {}     # request id -> authorize request
        self.codes = {}       # code -> dict
        self.grants = {}      # grant id -> Grant
        self.access = {}      # access token -> dict(grant, expires, scope)
        self.refresh = {}     # refresh token -> dict(grant, used, expires)
        self.devices = {}     # device code -> dict
        self.user_codes = {}  # user code -> device code
        self.redirects = args.redirect_uri or (
            [CLOUD_CALLBACK] if self.mode == "bitbucket-cloud"
            else list(DEFAULT_REDIRECTS))
        self.code_ttl = args.code_ttl if args.code_ttl is not None else (
            DATACENTER_CODE_TTL if self.mode == "datacenter" else CODE_TTL)
        self.base = None
        self.scheme = "http"
        if self.mode == "standards":
            self.paths = {
                "authorize": "/authorize",
                "token": "/token",
                "device_authorization": "/device_authorization",
                "device": "/device",
                "revoke": "/revoke",
                "user": "/user",
            }
        elif self.mode == "bitbucket-cloud":
            self.paths = {
                "authorize": "/site/oauth2/authorize",
                "token": "/site/oauth2/access_token",
                "user": "/user",
                "user2": "/2.0/user",
            }
        else:
            self.paths = {
                "authorize": "/rest/oauth2/latest/authorize",
                "token": "/rest/oauth2/latest/token",
                "revoke": "/rest/oauth2/latest/revoke",
                "user": "/user",
            }
        self.paths = {k: self.ctx + v for k, v in self.paths.items()}
        if args.default_scope is not None:
            self.default_scope = args.default_scope
        elif self.mode == "datacenter":
            self.default_scope = "REPO_WRITE"
        else:
            self.default_scope = "repository:write"

    # -- configuration read per request --------------------------------

    def client_secret(self):
        try:
            with open(os.path.join(self.dir, "client-secret")) as f:
                secret = f.readline().rstrip("\r\n")
            if secret:
                return secret
        except FileNotFoundError:
            pass
        return self.args.client_secret or None

    def faults(self):
        found = {}
        try:
            with open(os.path.join(self.dir, "fault")) as f:
                for line in f:
                    fields = line.split()
                    if fields:
                        found[fields[0]] = fields[1:]
        except FileNotFoundError:
            pass
        return found

    # -- helpers ---------------------------------------------------------

    def url(self, name):
        return "%s://127.0.0.1:%d%s" % (self.scheme, self.port,
                                        self.paths[name])

    def log(self, method, path, status, grant, client, result):
        def clean(v):
            v = re.sub(r"[\s\x00-\x1f\x7f]", "_", v or "-")
            return v[:200] or "-"
        line = "%s %s %d grant_type=%s client=%s result=%s\n" % (
            clean(method), clean(path), status, clean(grant), clean(client),
            clean(result))
        with self.log_lock:
            with open(os.path.join(self.dir, "oauth.log"), "a") as f:
                f.write(line)

    def registered_redirect(self, uri):
        """The registered redirect URI that URI matches, or None.

        bitbucket-cloud: URI begins with the consumer's callback URL (a
        string prefix, as Bitbucket Cloud compares).  Other modes: equal to
        a registered URI, except that the port of a loopback URI
        (127.0.0.1, [::1], localhost) is ignored on both sides (RFC 8252
        section 7.3); scheme, host, path and query are compared exactly.
        """
        if not uri or any(c in uri for c in " \t\r\n\x00#"):
            return None
        if self.mode == "bitbucket-cloud":
            for r in self.redirects:
                if uri.startswith(r):
                    return r
            return None
        key = loopback_key(uri)
        for r in self.redirects:
            if uri == r or (key is not None and key == loopback_key(r)):
                return r
        return None

    def scope_ok(self, scope):
        return all(SCOPE_TOKEN_RE.fullmatch(t) for t in scope.split(" ") if t)

    def perm(self, scope):
        return "write" if "write" in scope.lower() else "read"

    def identity(self):
        name = self.args.username
        return {
            "username": name,
            "uuid": "{%s}" % uuid.uuid5(uuid.NAMESPACE_URL,
                                        "bbs-test-user:" + name),
            "display_name": self.args.display_name or name.capitalize(),
        }

    # -- tokens (call with self.lock held) ---------------------------------

    def new_grant(self, client_id, scope, redirect_uri):
        g = Grant(new_value("g_"), client_id, scope, redirect_uri)
        self.grants[g.id] = g
        return g

    def issue(self, g, scope, with_refresh=True, state_field=None):
        now = int(time.time())
        ttl = self.args.access_ttl
        at = new_value("at_")
        expires = now + ttl
        self.access[at] = {"grant": g.id, "expires": expires, "scope": scope}
        g.access.add(at)
        self.forge.edit(add=[(at, self.perm(scope), expires)])
        body = {"access_token": at, "token_type": "bearer", "expires_in": ttl}
        if with_refresh:
            rt = new_value("rt_")
            rexp = now + self.args.refresh_ttl if self.args.refresh_ttl else None
            self.refresh[rt] = {"grant": g.id, "used": False, "expires": rexp}
            g.refresh.add(rt)
            body["refresh_token"] = rt
        if self.mode == "bitbucket-cloud":
            # Bitbucket Cloud's answer: "scopes", no "scope", and a
            # "state" field naming the grant.
            body["scopes"] = scope
            if state_field:
                body["state"] = state_field
        else:
            body["scope"] = scope
        if self.mode == "standards" and "openid" in scope.split(" "):
            self.add_id_token(body, g, now)
        if "token-username" in self.faults():
            body["username"] = self.args.username
        if "odd-fields" in self.faults():
            # a lifetime as a real, the scopes as a list
            body["expires_in"] = ttl + 0.5
            body["scopes" if "scopes" in body else "scope"] = scope.split(" ")
        return body

    def add_id_token(self, body, g, now):
        kind = (self.faults().get("id-token") or ["good"])[0]
        if kind == "none":
            return
        claims = {
            "iss": self.base, "aud": g.client_id,
            "sub": self.identity()["uuid"],
            "preferred_username": self.args.username,
            "iat": now, "exp": now + 300,
        }
        if kind == "wrong-iss":
            claims["iss"] = "https://evil.example"
        elif kind == "wrong-aud":
            claims["aud"] = "another-client"
        elif kind == "expired":
            claims["exp"] = now - 60

        def part(obj):
            raw = json.dumps(obj).encode()
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        jwt = "%s.%s.%s" % (part({"alg": "RS256", "typ": "JWT"}),
                            part(claims), secrets.token_urlsafe(64))
        if kind == "malformed":
            jwt = jwt.replace(".", "!", 1)
        body["id_token"] = jwt

    def revoke_grant(self, g):
        g.revoked = True
        dead = list(g.access)
        for at in dead:
            self.access.pop(at, None)
        g.access.clear()
        if dead:
            self.forge.edit(remove=dead)

    def revoke_access(self, at):
        info = self.access.pop(at, None)
        if info:
            g = self.grants.get(info["grant"])
            if g:
                g.access.discard(at)
            self.forge.edit(remove=[at])

    def live_access(self, at):
        info = self.access.get(at)
        if not info or time.time() >= info["expires"]:
            return None
        g = self.grants.get(info["grant"])
        if not g or g.revoked:
            return None
        return info


# ---------------------------------------------------------------------------
# HTTP


PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>%s</title></head>
<body>
%s
</body></html>
"""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bbs-test-oauth/1"
    sys_version = ""

    # Silence http.server's own stderr logging (it prints request lines).
    def log_message(self, format, *args):  # noqa: A002
        pass

    @property
    def srv(self):
        return self.server.app

    # -- plumbing ----------------------------------------------------------

    def send(self, status, body=b"", ctype="text/plain; charset=utf-8",
             headers=(), result="ok", log=True):
        if isinstance(body, str):
            body = body.encode("utf-8")
        # logged first: a test reads the log as soon as its client is done
        if log:
            self.write_log(status, result)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def sleep_unless_hung_up(self, seconds):
        """Sleep SECONDS; False as soon as the client has hung up."""
        end = time.monotonic() + seconds
        p = select.poll()
        p.register(self.connection.fileno(), select.POLLRDHUP)
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return True
            if p.poll(min(left, 0.1) * 1000):
                return False

    def write_log(self, status, result):
        self.srv.log(self.command, self.req_path, status, self.log_grant,
                     self.log_client, result)

    def send_json(self, status, obj, headers=(), result="ok"):
        self.send(status, json.dumps(obj), "application/json;charset=UTF-8",
                  [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
                  + list(headers), result)

    def send_oauth_error(self, e):
        obj = {"error": e.error}
        if e.description:
            obj["error_description"] = e.description
        headers = []
        if e.status == 401:
            headers.append(("WWW-Authenticate",
                            'Basic realm="oauth", charset="UTF-8"'))
        self.send_json(e.status, obj, headers, result=e.error)

    def send_page(self, status, title, content, result="ok", headers=()):
        body = PAGE % (html.escape(title), content)
        self.send(status, body, "text/html; charset=utf-8",
                  [("Cache-Control", "no-store"),
                   ("X-Frame-Options", "DENY")] + list(headers), result)

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "").lower()
        if "chunked" in te:
            data = b""
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise OAuthError(400, "invalid_request", "bad chunk")
                if size == 0:
                    while self.rfile.readline(1024).strip():
                        pass
                    return data
                if len(data) + size > MAX_BODY:
                    self.close_connection = True
                    raise OAuthError(413, "invalid_request", "body too large")
                data += self.rfile.read(size)
                self.rfile.readline(1024)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise OAuthError(400, "invalid_request", "bad Content-Length")
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            raise OAuthError(413, "invalid_request", "body too large")
        return self.rfile.read(length) if length else b""

    def parse_form(self, body, need_type=True):
        if need_type and self.headers.get_content_type() != \
                "application/x-www-form-urlencoded":
            raise OAuthError(400, "invalid_request",
                             "the body must be application/x-www-form-urlencoded")
        try:
            text = body.decode("utf-8")
            pairs = urllib.parse.parse_qsl(text, keep_blank_values=True,
                                           strict_parsing=False,
                                           errors="strict")
        except (UnicodeDecodeError, ValueError):
            raise OAuthError(400, "invalid_request", "undecodable body")
        form = {}
        dup = None
        for k, v in pairs:
            if k in form:
                dup = k
            form[k] = v
        return form, dup

    # -- routing -------------------------------------------------------------

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_HEAD(self):
        self.route("HEAD")

    def do_PUT(self):
        self.route("PUT")

    def do_DELETE(self):
        self.route("DELETE")

    def route(self, method):
        # Per request: a kept-alive connection serves several.
        self.log_grant = None
        self.log_client = None
        split = urllib.parse.urlsplit(self.path)
        self.req_path = split.path
        self.query = split.query
        app = self.srv
        p = app.paths
        path = split.path
        try:
            if path in ("/.oauth-ping", app.ctx + "/.oauth-ping"):
                if method == "POST":
                    self.read_body()
                self.send(200, "ok\n", log=False)
                return
            routes = {
                ("GET", p["authorize"]): self.authorize,
                ("POST", p["authorize"] + "/decision"): self.authorize_decision,
                ("POST", p["token"]): self.token,
                ("GET", p["user"]): self.user,
            }
            if "user2" in p:
                routes[("GET", p["user2"])] = self.user
            if "revoke" in p:
                routes[("POST", p["revoke"])] = self.revoke
            if app.mode == "standards":
                routes[("POST", p["device_authorization"])] = \
                    self.device_authorization
                routes[("GET", p["device"])] = self.device_page
                routes[("POST", p["device"] + "/decision")] = \
                    self.device_decision
                wk = ("/.well-known/oauth-authorization-server",
                      "/.well-known/openid-configuration")
                for w in wk:
                    routes[("GET", app.ctx + w)] = self.metadata
                    routes[("GET", w + app.ctx)] = self.metadata
            handler = routes.get((method, path))
            if handler is None:
                known = {k[1] for k in routes}
                if method == "POST":
                    self.read_body()
                if path in known:
                    allowed = ", ".join(sorted(k[0] for k in routes
                                               if k[1] == path))
                    self.send(405, "method not allowed\n",
                              headers=[("Allow", allowed)],
                              result="method_not_allowed")
                else:
                    self.send(404, "not found\n", result="not_found")
                return
            handler()
        except OAuthError as e:
            self.send_oauth_error(e)
        except PageError as e:
            self.send_page(e.status, "Error",
                           "<h1>Error</h1>\n<p>%s</p>" % html.escape(e.message),
                           result=e.result)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # never print the exception message
            tb = "".join(traceback.format_tb(e.__traceback__))
            sys.stderr.write("internal error %s\n%s" % (type(e).__name__, tb))
            sys.stderr.flush()
            try:
                self.send_json(500, {"error": "server_error"},
                               result="server_error")
            except OSError:
                self.close_connection = True

    # -- discovery -------------------------------------------------------

    def metadata(self):
        app = self.srv
        meta = {
            "issuer": app.base,
            "authorization_endpoint": app.url("authorize"),
            "token_endpoint": app.url("token"),
            "device_authorization_endpoint": app.url("device_authorization"),
            "revocation_endpoint": app.url("revoke"),
            "userinfo_endpoint": app.url("user"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": list(KNOWN_GRANTS),
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported":
                ["none", "client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported":
                ["none", "client_secret_basic", "client_secret_post"],
            "scopes_supported": ["account", "repository", "repository:write",
                                 "repository:admin"],
            "authorization_response_iss_parameter_supported": True,
        }
        if app.args.no_userinfo:
            del meta["userinfo_endpoint"]
        if "hostile-metadata" in app.faults():
            meta["token_endpoint"] = "http://localhost:1@192.0.2.2/token"
        self.send(200, json.dumps(meta, indent=1) + "\n",
                  "application/json", [("Cache-Control", "no-cache")])

    # -- authorization endpoint ------------------------------------------------

    def redirect_to(self, uri, params, result):
        sep = "&" if "?" in uri else "?"
        location = uri + sep + urllib.parse.urlencode(params)
        body = "<p>Redirecting to the application.</p>\n"
        self.send(302, PAGE % ("Redirecting", body), "text/html; charset=utf-8",
                  [("Location", location), ("Cache-Control", "no-store")],
                  result)

    def authorize(self):
        app = self.srv
        try:
            pairs = urllib.parse.parse_qsl(self.query, keep_blank_values=True,
                                           errors="strict")
        except (UnicodeDecodeError, ValueError):
            raise PageError(400, "invalid_request", "Malformed request.")
        q = {}
        dups = set()
        for k, v in pairs:
            if k in q:
                dups.add(k)
            q[k] = v
        client_id = q.get("client_id")
        if client_id == app.args.client_id:
            self.log_client = client_id
        elif client_id:
            self.log_client = "unknown"
        if not client_id or "client_id" in dups or \
                client_id != app.args.client_id:
            raise PageError(400, "invalid_client",
                            "Unknown or missing client_id.")
        redirect_uri = q.get("redirect_uri")
        sent_redirect = redirect_uri is not None
        if not sent_redirect and len(app.redirects) == 1:
            # RFC 6749 section 3.1.2.3: the one registered URI.
            redirect_uri = app.redirects[0]
        elif "redirect_uri" in dups or \
                app.registered_redirect(redirect_uri) is None:
            raise PageError(400, "invalid_redirect_uri",
                            "Missing or unregistered redirect_uri.")
        state = q.get("state")

        def fail(error, description):
            params = [("error", error), ("error_description", description)]
            if state is not None:
                params.append(("state", state))
            if app.mode == "standards":
                params.append(("iss", app.base))
            self.redirect_to(redirect_uri, params, error)

        if dups:
            return fail("invalid_request", "repeated parameter")
        rtype = q.get("response_type")
        if not rtype:
            return fail("invalid_request", "response_type is missing")
        if rtype != "code":
            return fail("unsupported_response_type",
                        "only response_type=code is supported")
        challenge = q.get("code_challenge")
        method = q.get("code_challenge_method")
        if challenge:
            if (method or "plain") != "S256":
                return fail("invalid_request",
                            "transform algorithm not supported")
            if not PKCE_RE.fullmatch(challenge):
                return fail("invalid_request", "malformed code_challenge")
        else:
            if method:
                return fail("invalid_request",
                            "code_challenge_method without code_challenge")
            if app.mode == "standards" or \
                    (app.mode == "datacenter" and app.client_secret() is None):
                return fail("invalid_request", "code_challenge required")
        scope = q.get("scope")
        if scope is None or not scope.strip():
            scope = app.default_scope
        if not app.scope_ok(scope):
            return fail("invalid_scope", "malformed scope")
        scope = " ".join(t for t in scope.split(" ") if t)
        rid = new_value("req_")
        with app.lock:
            now = time.time()
            for k in [k for k, v in app.pending.items() if v["expires"] <= now]:
                del app.pending[k]
            app.pending[rid] = {
                "client_id": client_id, "redirect_uri": redirect_uri,
                "sent_redirect": sent_redirect, "state": state, "challenge": challenge or None,
                "scope": scope, "expires": now + PENDING_TTL,
            }
        action = app.paths["authorize"] + "/decision"
        self.send_consent("Authorize", "Authorize " + client_id, client_id,
                          scope, action, "request_id", rid)

    def send_consent(self, title, heading, client_id, scope, action,
                     field, value):
        """A consent page: approve or deny, posting FIELD=VALUE back."""
        content = """<h1>%s</h1>
<p>The application <b>%s</b> asks for access to your account <b>%s</b>
with the scopes: <code>%s</code>.</p>
<form method="post" action="%s">
<input type="hidden" name="%s" value="%s">
<button type="submit" name="decision" value="approve">Grant access</button>
<button type="submit" name="decision" value="deny">Cancel</button>
</form>""" % (html.escape(heading), html.escape(client_id),
              html.escape(self.srv.args.username), html.escape(scope),
              html.escape(action), html.escape(field), html.escape(value))
        self.send_page(200, title, content)

    def authorize_decision(self):
        app = self.srv
        body = self.read_body()
        try:
            form, _ = self.parse_form(body)
        except OAuthError:
            raise PageError(400, "invalid_request", "Malformed form.")
        with app.lock:
            req = app.pending.pop(form.get("request_id", ""), None)
        if not req or req["expires"] <= time.time():
            raise PageError(400, "invalid_request",
                            "Unknown or expired authorization request.")
        self.log_client = req["client_id"]
        decision = form.get("decision")
        faults = app.faults()
        state = req["state"]
        if "wrong-state" in faults:
            state = secrets.token_urlsafe(16)
        if decision == "approve":
            code = new_value("code_")
            with app.lock:
                app.codes[code] = {
                    "client_id": req["client_id"],
                    "redirect_uri": req["redirect_uri"],
                    "sent_redirect": req["sent_redirect"],
                    "challenge": req["challenge"],
                    "scope": req["scope"],
                    "expires": time.time() + app.code_ttl,
                    "used": False, "grant": None,
                }
            params = [("code", code)]
            result = "ok"
        elif decision == "deny":
            params = [("error", "access_denied"),
                      ("error_description", "the user denied the request")]
            result = "access_denied"
        else:
            raise PageError(400, "invalid_request", "Unknown decision.")
        if state is not None:
            params.append(("state", state))
        if "wrong-iss" in faults:
            params.append(("iss", "https://evil.example"))
        elif app.mode == "standards" and "no-iss" not in faults:
            params.append(("iss", app.base))
        self.redirect_to(req["redirect_uri"], params, result)

    # -- client authentication ---------------------------------------------

    def authenticate_client(self, form, dup):
        """Return (client_id, confidential) or raise OAuthError."""
        app = self.srv
        secret = app.client_secret()
        basic_id = basic_secret = None
        auth = self.headers.get("Authorization")
        if auth:
            scheme, _, rest = auth.strip().partition(" ")
            if scheme.lower() != "basic":
                raise OAuthError(401, "invalid_client",
                                 "unsupported authentication scheme")
            try:
                raw = base64.b64decode(rest.strip(), validate=True)
                pair = raw.decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                raise OAuthError(401, "invalid_client", "malformed Basic")
            if ":" not in pair:
                raise OAuthError(401, "invalid_client", "malformed Basic")
            bid, bsecret = pair.split(":", 1)
            # RFC 6749 section 2.3.1: form-encoded before Basic.  Accept
            # the raw values as well.
            basic_id = {bid, urllib.parse.unquote_plus(bid)}
            basic_secret = {bsecret, urllib.parse.unquote_plus(bsecret)}
        body_id = form.get("client_id")
        body_secret = form.get("client_secret")
        if basic_id is not None:
            if app.args.client_id in basic_id:
                self.log_client = app.args.client_id
            else:
                self.log_client = "unknown"
        elif body_id is not None:
            self.log_client = body_id if body_id == app.args.client_id \
                else "unknown"
        if dup:
            raise OAuthError(400, "invalid_request",
                             "parameters must not be repeated")
        if basic_id is not None and body_secret is not None:
            raise OAuthError(400, "invalid_request",
                             "more than one client authentication method")
        if basic_id is not None:
            if app.args.client_id not in basic_id or \
                    (body_id is not None and body_id != app.args.client_id):
                raise OAuthError(401, "invalid_client", "unknown client")
            offered = basic_secret
        else:
            if not body_id:
                raise OAuthError(401, "invalid_client",
                                 "client authentication is missing")
            if body_id != app.args.client_id:
                raise OAuthError(401, "invalid_client", "unknown client")
            offered = {body_secret} if body_secret else set()
        offered.discard("")
        if secret is None:
            if app.mode == "bitbucket-cloud":
                raise OAuthError(401, "invalid_client",
                                 "the server has no client secret")
            if offered:
                raise OAuthError(401, "invalid_client",
                                 "this client has no secret")
            return app.args.client_id, False
        if not offered:
            raise OAuthError(401, "invalid_client", "client secret required")
        for s in offered:
            if hmac.compare_digest(s.encode("utf-8"), secret.encode("utf-8")):
                return app.args.client_id, True
        raise OAuthError(401, "invalid_client", "bad client credentials")

    # -- token endpoint ----------------------------------------------------------

    def token(self):
        app = self.srv
        faults = app.faults()
        if "slow" in faults:
            try:
                delay = float(faults["slow"][0])
            except (IndexError, ValueError):
                delay = 0
            if not self.sleep_unless_hung_up(delay):
                self.close_connection = True
                return
        body = self.read_body()
        form, dup = None, None
        form_error = None
        try:
            form, dup = self.parse_form(body)
        except OAuthError as e:
            form_error = e
        if form is not None:
            grant = form.get("grant_type")
            if grant in KNOWN_GRANTS:
                self.log_grant = grant
            elif grant:
                self.log_grant = "other"
            cid = form.get("client_id")
            if cid:
                self.log_client = cid if cid == app.args.client_id \
                    else "unknown"
        if self.token_fault(faults):
            return
        if form_error:
            raise form_error
        client_id, confidential = self.authenticate_client(form, dup)
        grant = form.get("grant_type")
        if not grant:
            raise OAuthError(400, "invalid_request", "grant_type is missing")
        if grant == "authorization_code":
            obj = self.grant_code(form, client_id)
        elif grant == "refresh_token":
            obj = self.grant_refresh(form, client_id)
        elif grant == "client_credentials":
            obj = self.grant_client_credentials(form, client_id, confidential)
        elif grant == DEVICE_GRANT and app.mode == "standards":
            obj = self.grant_device(form, client_id)
        else:
            raise OAuthError(400, "unsupported_grant_type",
                             "unsupported grant_type")
        self.send_json(200, obj)

    def token_fault(self, faults):
        if "status" in faults:
            args = faults["status"]
            try:
                code = int(args[0])
            except (IndexError, ValueError):
                code = 500
            if len(args) > 1:
                error = args[1]
            elif code == 400:
                error = "invalid_request"
            elif code == 401:
                error = "invalid_client"
            elif code == 403:
                error = "access_denied"
            elif code in (429, 503):
                error = "temporarily_unavailable"
            else:
                error = "server_error"
            headers = []
            if code == 401:
                headers.append(("WWW-Authenticate", 'Basic realm="oauth"'))
            if code in (429, 503):
                headers.append(("Retry-After", "1"))
            self.send_json(code, {"error": error, "error_description":
                                  "injected fault: status %d" % code},
                           headers, result="fault-status")
            return True
        if "malformed" in faults:
            self.send(200, "<html>not json</html>", "text/html",
                      result="fault-malformed")
            return True
        if "truncated" in faults:
            fake = {"access_token": new_value("at_fake_"),
                    "token_type": "bearer", "expires_in": 3600,
                    "refresh_token": new_value("rt_fake_"),
                    "scope": self.srv.default_scope}
            data = json.dumps(fake).encode()
            half = data[:len(data) // 2]
            if faults["truncated"][:1] == ["close"]:
                # Announce the whole body, send half, close.
                self.write_log(200, "fault-truncated")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(half)
                self.close_connection = True
            else:
                self.send(200, half, "application/json",
                          [("Cache-Control", "no-store")],
                          result="fault-truncated")
            return True
        if "crlf-token" in faults:
            self.send_json(200, {"access_token": new_value("at_") +
                                 "\r\nX-Injected: 1",
                                 "token_type": "bearer", "expires_in": 3600,
                                 "refresh_token": new_value("rt_")},
                           result="fault-crlf-token")
            return True
        if "hostile-text" in faults:
            self.send_json(400, {"error": "invalid_grant",
                                 "error_description": "\x1b[2J\x1b[31mgone"
                                 "\nfatal: injected line"},
                           result="fault-hostile-text")
            return True
        if "oversized" in faults:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(OVERSIZED_BYTES))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            head = b'{"access_token":"at_'
            tail = b'","token_type":"bearer"}'
            filler = OVERSIZED_BYTES - len(head) - len(tail)
            chunk = b"A" * 65536
            status_result = "fault-oversized"
            try:
                self.wfile.write(head)
                while filler > 0:
                    n = min(filler, len(chunk))
                    self.wfile.write(chunk[:n])
                    filler -= n
                self.wfile.write(tail)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
                status_result = "fault-oversized-cut"
            self.write_log(200, status_result)
            return True
        return False

    def grant_code(self, form, client_id):
        app = self.srv
        code = form.get("code")
        if not code:
            raise OAuthError(400, "invalid_request", "code is missing")
        redirect_uri = form.get("redirect_uri")
        verifier = form.get("code_verifier")
        with app.lock:
            c = app.codes.get(code)
            if not c or c["client_id"] != client_id:
                raise OAuthError(400, "invalid_grant", "unknown code")
            if c["used"]:
                # RFC 6749 section 4.1.2: revoke what the code gave.
                g = app.grants.get(c["grant"])
                if g:
                    app.revoke_grant(g)
                raise OAuthError(400, "invalid_grant",
                                 "code already used; its tokens are revoked")
            if time.time() >= c["expires"]:
                app.codes.pop(code, None)
                raise OAuthError(400, "invalid_grant", "code expired")
            # RFC 6749 section 4.1.3: required when the authorization
            # request had one, and then identical to it.
            if redirect_uri is None and c["sent_redirect"]:
                raise OAuthError(400, "invalid_grant",
                                 "redirect_uri is missing")
            if redirect_uri is not None and redirect_uri != c["redirect_uri"]:
                raise OAuthError(400, "invalid_grant",
                                 "redirect_uri differs from the "
                                 "authorization request's")
            if c["challenge"]:
                if not verifier or not PKCE_RE.fullmatch(verifier):
                    raise OAuthError(400, "invalid_grant",
                                     "code_verifier missing or malformed")
                if not hmac.compare_digest(b64url_sha256(verifier),
                                           c["challenge"]):
                    raise OAuthError(400, "invalid_grant",
                                     "PKCE verification failed")
            elif verifier is not None:
                raise OAuthError(400, "invalid_grant",
                                 "code_verifier without a code_challenge")
            c["used"] = True
            g = app.new_grant(client_id, c["scope"], c["redirect_uri"])
            c["grant"] = g.id
            return app.issue(g, c["scope"], state_field="authorization_code")

    def grant_refresh(self, form, client_id):
        app = self.srv
        try:
            return self.grant_refresh_(form, client_id)
        except OAuthError as e:
            if app.mode == "bitbucket-cloud" and e.error != "invalid_client":
                raise OAuthError(400, "invalid_request",
                                 "Invalid refresh_token")
            raise

    def grant_refresh_(self, form, client_id):
        app = self.srv
        rt = form.get("refresh_token")
        if not rt:
            raise OAuthError(400, "invalid_request",
                             "refresh_token is missing")
        redirect_uri = form.get("redirect_uri")
        if app.mode == "datacenter" and not redirect_uri:
            raise OAuthError(400, "invalid_grant", "redirect_uri is required")
        with app.lock:
            r = app.refresh.get(rt)
            g = app.grants.get(r["grant"]) if r else None
            if not r or not g or g.client_id != client_id:
                raise OAuthError(400, "invalid_grant",
                                 "unknown refresh token")
            if g.revoked:
                raise OAuthError(400, "invalid_grant", "grant revoked")
            if r["used"]:
                app.revoke_grant(g)
                raise OAuthError(400, "invalid_grant",
                                 "refresh token reused; grant revoked")
            if r["expires"] is not None and time.time() >= r["expires"]:
                raise OAuthError(400, "invalid_grant",
                                 "refresh token expired")
            if app.mode == "datacenter" and redirect_uri != g.redirect_uri:
                raise OAuthError(400, "invalid_grant",
                                 "redirect_uri does not match")
            scope = form.get("scope")
            if scope is not None and scope.strip():
                want = [t for t in scope.split(" ") if t]
                if not app.scope_ok(scope) or \
                        not set(want) <= set(g.scope.split(" ")):
                    raise OAuthError(400, "invalid_scope",
                                     "scope exceeds the grant")
                scope = " ".join(want)
            else:
                scope = g.scope
            r["used"] = True
            return app.issue(g, scope, state_field="refresh_token")

    def grant_client_credentials(self, form, client_id, confidential):
        app = self.srv
        if not confidential:
            raise OAuthError(400, "unauthorized_client",
                             "client_credentials needs a client secret")
        scope = form.get("scope")
        if scope is None or not scope.strip():
            scope = app.default_scope
        if not app.scope_ok(scope):
            raise OAuthError(400, "invalid_scope", "malformed scope")
        scope = " ".join(t for t in scope.split(" ") if t)
        with app.lock:
            g = app.new_grant(client_id, scope, None)
            return app.issue(g, scope, with_refresh=False,
                             state_field="client_credentials")

    def grant_device(self, form, client_id):
        app = self.srv
        dc = form.get("device_code")
        if not dc:
            raise OAuthError(400, "invalid_request", "device_code is missing")
        with app.lock:
            d = app.devices.get(dc)
            if not d or d["client_id"] != client_id:
                raise OAuthError(400, "invalid_grant", "unknown device_code")
            if time.time() >= d["expires"]:
                raise OAuthError(400, "expired_token", "device_code expired")
            now = time.monotonic()
            last = d["last_poll"]
            d["last_poll"] = now
            if last is not None and now - last < d["interval"]:
                d["interval"] += 5
                raise OAuthError(400, "slow_down",
                                 "polling too fast; interval is now %d s"
                                 % d["interval"])
            if d["status"] == "pending":
                raise OAuthError(400, "authorization_pending",
                                 "the user has not answered yet")
            if d["status"] == "denied":
                raise OAuthError(400, "access_denied",
                                 "the user denied the request")
            if d["status"] == "done":
                raise OAuthError(400, "invalid_grant",
                                 "device_code already used")
            d["status"] = "done"
            app.user_codes.pop(d["user_code"], None)
            g = app.new_grant(client_id, d["scope"], None)
            return app.issue(g, d["scope"])

    # -- device authorization (RFC 8628) ---------------------------------------

    def device_authorization(self):
        app = self.srv
        body = self.read_body()
        form, dup = self.parse_form(body)
        client_id, _ = self.authenticate_client(form, dup)
        scope = form.get("scope")
        if scope is None or not scope.strip():
            scope = app.default_scope
        if not app.scope_ok(scope):
            raise OAuthError(400, "invalid_scope", "malformed scope")
        scope = " ".join(t for t in scope.split(" ") if t)
        with app.lock:
            while True:
                raw = "".join(secrets.choice(USER_CODE_ALPHABET)
                              for _ in range(8))
                if raw not in app.user_codes:
                    break
            dc = new_value("dc_")
            ttl = app.args.device_ttl
            app.devices[dc] = {
                "client_id": client_id, "scope": scope, "user_code": raw,
                "expires": time.time() + ttl, "status": "pending",
                "interval": app.args.device_interval, "last_poll": None,
            }
            app.user_codes[raw] = dc
        user_code = raw[:4] + "-" + raw[4:]
        verification = app.url("device")
        faults = app.faults()
        if "hostile-user-code" in faults:
            user_code += "\nfatal: injected line"
        if "hostile-verification" in faults:
            verification = "http://127.0.0.1.evil.example/device"
        self.send_json(200, {
            "device_code": dc,
            "user_code": user_code,
            "verification_uri": verification,
            "verification_uri_complete": verification + "?" +
            urllib.parse.urlencode({"user_code": user_code}),
            "expires_in": ttl,
            "interval": app.args.device_interval,
        })

    def find_device(self, user_code):
        app = self.srv
        raw = re.sub(r"[^A-Z]", "", (user_code or "").upper())
        with app.lock:
            dc = app.user_codes.get(raw)
            d = app.devices.get(dc) if dc else None
            if not d or d["status"] != "pending" or \
                    time.time() >= d["expires"]:
                return None, None
            return raw, d

    def device_page(self):
        app = self.srv
        q = dict(urllib.parse.parse_qsl(self.query, keep_blank_values=True))
        action = app.paths["device"]
        if not q.get("user_code"):
            content = """<h1>Connect a device</h1>
<form method="get" action="%s">
<label>Code: <input type="text" name="user_code"></label>
<button type="submit">Continue</button>
</form>""" % html.escape(action)
            self.send_page(200, "Connect a device", content)
            return
        raw, d = self.find_device(q["user_code"])
        if not d:
            raise PageError(400, "invalid_grant", "Unknown or expired code.")
        self.log_client = d["client_id"]
        self.send_consent("Connect a device", "Connect a device",
                          d["client_id"], d["scope"], action + "/decision",
                          "user_code", raw)

    def device_decision(self):
        app = self.srv
        body = self.read_body()
        try:
            form, _ = self.parse_form(body)
        except OAuthError:
            raise PageError(400, "invalid_request", "Malformed form.")
        decision = form.get("decision")
        if decision not in ("approve", "deny"):
            raise PageError(400, "invalid_request", "Unknown decision.")
        with app.lock:
            raw, d = self.find_device(form.get("user_code"))
            if not d:
                raise PageError(400, "invalid_grant",
                                "Unknown or expired code.")
            self.log_client = d["client_id"]
            d["status"] = "approved" if decision == "approve" else "denied"
        if decision == "approve":
            self.send_page(200, "Device connected",
                           "<h1>Device connected</h1>\n<p>You can return to "
                           "the application.</p>")
        else:
            self.send_page(200, "Access denied",
                           "<h1>Access denied</h1>\n<p>The device was not "
                           "connected.</p>", result="access_denied")

    # -- revocation (RFC 7009) -----------------------------------------------------

    def revoke(self):
        app = self.srv
        body = self.read_body()
        form, dup = self.parse_form(body)
        client_id, _ = self.authenticate_client(form, dup)
        token = form.get("token")
        if not token:
            raise OAuthError(400, "invalid_request", "token is missing")
        with app.lock:
            info = app.access.get(token)
            r = app.refresh.get(token)
            if info:
                g = app.grants.get(info["grant"])
                if g and g.client_id == client_id:
                    app.revoke_access(token)
            elif r:
                g = app.grants.get(r["grant"])
                if g and g.client_id == client_id:
                    app.revoke_grant(g)
        self.send(200, b"", "application/json",
                  [("Cache-Control", "no-store")])

    # -- identity --------------------------------------------------------------

    def user(self):
        app = self.srv
        if app.args.no_userinfo:
            self.send_json(404, {"error": "not_found"}, result="not_found")
            return
        auth = self.headers.get("Authorization") or ""
        scheme, _, token = auth.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            self.send_json(401, {"error": "invalid_request",
                                 "error_description": "a Bearer token is required"},
                           [("WWW-Authenticate", 'Bearer realm="oauth"')],
                           result="invalid_request")
            return
        with app.lock:
            info = app.live_access(token)
            g = app.grants.get(info["grant"]) if info else None
        if not info:
            self.send_json(401, {"error": "invalid_token",
                                 "error_description": "unknown, expired or revoked token"},
                           [("WWW-Authenticate",
                             'Bearer realm="oauth", error="invalid_token"')],
                           result="invalid_token")
            return
        self.log_client = g.client_id if g else None
        ident = app.identity()
        headers = []
        if app.mode == "datacenter":
            headers.append(("X-AUSERNAME", ident["username"]))
        self.send(200, json.dumps(ident), "application/json",
                  [("Cache-Control", "no-store")] + headers)


class HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False


def main():
    ap = argparse.ArgumentParser(
        description="An OAuth 2.0 authorization server for the tests.")
    ap.add_argument("--dir", required=True,
                    help="state directory: port, url, pid, endpoints, "
                    "oauth.log, fault, client-secret")
    ap.add_argument("--forge-dir",
                    help="the test forge, whose tokens file gets the "
                    "issued access tokens")
    ap.add_argument("--mode", default="standards",
                    choices=("standards", "bitbucket-cloud", "datacenter"))
    ap.add_argument("--context-path", default="")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--access-ttl", type=int, default=3600)
    ap.add_argument("--refresh-ttl", type=int, default=0,
                    help="seconds; 0: refresh tokens do not expire")
    ap.add_argument("--code-ttl", type=float, default=None,
                    help="seconds an authorization code lives (default "
                    "%d, datacenter %d)" % (CODE_TTL, DATACENTER_CODE_TTL))
    ap.add_argument("--client-id", default="bbs-test-client")
    ap.add_argument("--client-secret",
                    help="prefer the file DIR/client-secret (not in argv)")
    ap.add_argument("--redirect-uri", action="append", default=[],
                    help="a registered redirect URI (repeatable); "
                    "bitbucket-cloud: the callback URL, a prefix")
    ap.add_argument("--default-scope",
                    help="scope granted when none is asked for")
    ap.add_argument("--device-ttl", type=int,
                    default=int(os.environ.get("OAUTH_DEVICE_TTL") or 300))
    ap.add_argument("--device-interval", type=int,
                    default=int(os.environ.get("OAUTH_DEVICE_INTERVAL") or 1))
    ap.add_argument("--username", default="alice")
    ap.add_argument("--display-name")
    ap.add_argument("--tls-cert",
                    help="serve https with this certificate (PEM)")
    ap.add_argument("--tls-key", help="the key of --tls-cert (PEM)")
    ap.add_argument("--no-userinfo", action="store_true",
                    help="no user endpoint: the server names nobody")
    args = ap.parse_args()
    if args.access_ttl <= 0 or args.device_interval < 0 or args.device_ttl <= 0:
        ap.error("TTLs must be positive")
    if args.code_ttl is not None and args.code_ttl <= 0:
        ap.error("TTLs must be positive")
    if args.mode == "bitbucket-cloud" and len(args.redirect_uri) > 1:
        ap.error("a Bitbucket Cloud consumer has one callback URL")
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")

    app = Server(args)
    os.makedirs(app.dir, exist_ok=True)
    httpd = HTTPServer(("127.0.0.1", args.port), Handler)
    httpd.app = app
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
        app.scheme = "https"
    app.port = httpd.server_address[1]
    app.base = "%s://127.0.0.1:%d%s" % (app.scheme, app.port, app.ctx)

    def on_signal(signum, frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    def watchdog():
        # Never outlive the directory (a test's trash removed under us).
        while True:
            time.sleep(1)
            if not os.path.isdir(app.dir):
                sys.stderr.write("oauth-server: %s is gone, exiting\n"
                                 % app.dir)
                httpd.shutdown()
                return

    threading.Thread(target=watchdog, daemon=True).start()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    endpoints = ["issuer " + app.base]
    for name, key in (("authorization_endpoint", "authorize"),
                      ("token_endpoint", "token"),
                      ("revocation_endpoint", "revoke"),
                      ("device_authorization_endpoint", "device_authorization"),
                      ("userinfo_endpoint", "user")):
        if key in app.paths and not (key == "user" and args.no_userinfo):
            endpoints.append("%s %s" % (name, app.url(key)))
    write_atomic(os.path.join(app.dir, "endpoints"),
                 "\n".join(endpoints) + "\n")
    write_atomic(os.path.join(app.dir, "url"), app.base + "\n")
    write_atomic(os.path.join(app.dir, "pid"), "%d\n" % os.getpid())
    write_atomic(os.path.join(app.dir, "port"), "%d\n" % app.port)
    sys.stderr.write("oauth-server: %s mode, listening on %s\n"
                     % (app.mode, app.base))
    sys.stderr.flush()
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
        try:
            with open(os.path.join(app.dir, "pid")) as f:
                if f.read().strip() == str(os.getpid()):
                    os.unlink(os.path.join(app.dir, "pid"))
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
