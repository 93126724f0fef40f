// SPDX-License-Identifier: MIT
// server.mjs - oidc-provider (a certified OpenID Connect / OAuth 2.0
// server, from npm) configured strictly, as a second authorization server
// for the integration tests.  Started and stopped by ../oidc.sh; see
// ../README.md ("The strict server").
//
//   node server.mjs --dir=DIR [--forge-dir=FORGEDIR] [--access-ttl=S]
//                   [--client-id=ID] [--redirect-uri=URI ...]
//                   [--userinfo=off]
//
// What it enforces is oidc-provider's own behaviour; this file only
// configures it:
//   - a native client (default id bbs-test-client) that is public (PKCE
//     S256 required) unless DIR/client-secret exists: then it is
//     confidential (client_secret_basic) and may use client credentials;
//     DIR/client-secret is re-read on every client lookup;
//   - loopback redirect URIs match with the port ignored and the path
//     compared exactly (RFC 8252 §7.3); the registered ones are
//     http://127.0.0.1/, http://[::1]/, http://127.0.0.1/callback,
//     http://[::1]/callback, http://localhost/callback and
//     org.git-remote-bbs:/callback unless
//     --redirect-uri is given;
//   - access tokens are opaque and live --access-ttl seconds (default
//     3600); refresh tokens rotate on every use, and presenting a
//     rotated-away one revokes the grant;
//   - device flow (RFC 8628), revocation (RFC 7009), introspection
//     (RFC 7662) for the forge's gate, a client "bbs-forge-gate" whose
//     secret is written to FORGEDIR/introspect.curl;
//   - --userinfo=off turns the userinfo endpoint off (and out of the
//     metadata): then only the ID token names the account;
//   - the interaction (login and consent) is a single page with approve
//     and deny buttons for the fixed user "alice", which the browser
//     stand-in (../browser.py) drives.
//
// Files in DIR: port, url, pid, endpoints, oauth.log (one line per
// request, no secrets: "METHOD PATH STATUS grant_type=G client=C
// result=R"), client-secret (optional, written by oidc.sh), fault
// (optional, written by oidc.sh: "slow SECONDS" delays every token
// request by that long before oidc-provider sees it, and drops one whose
// client hangs up meanwhile, unprocessed and unlogged; read on every
// request).

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

import Provider from 'oidc-provider';

const args = { redirectUris: [] };
for (const a of process.argv.slice(2)) {
  const m = /^--([a-z-]+)=(.*)$/s.exec(a);
  if (!m) {
    process.stderr.write(`server.mjs: bad argument ${a}\n`);
    process.exit(2);
  }
  if (m[1] === 'redirect-uri') args.redirectUris.push(m[2]);
  else args[m[1]] = m[2];
}
const DIR = args.dir;
if (!DIR || !path.isAbsolute(DIR)) {
  process.stderr.write('server.mjs: --dir=ABSOLUTE-DIR is required\n');
  process.exit(2);
}
const FORGE = args['forge-dir'] || '';
const ACCESS_TTL = Number.parseInt(args['access-ttl'] || '3600', 10);
const CLIENT_ID = args['client-id'] || 'bbs-test-client';
const USER = 'alice';
const REDIRECTS = args.redirectUris.length ? args.redirectUris : [
  'http://127.0.0.1/', 'http://[::1]/', 'http://127.0.0.1/callback',
  'http://[::1]/callback', 'http://localhost/callback',
  'org.git-remote-bbs:/callback',
];
const GATE_ID = 'bbs-forge-gate';
const GATE_SECRET = crypto.randomBytes(32).toString('base64url');

if (!Number.isInteger(ACCESS_TTL) || ACCESS_TTL < 1) {
  process.stderr.write('server.mjs: --access-ttl must be a positive integer\n');
  process.exit(2);
}

function writeAtomic(file, text, mode = 0o644) {
  const tmp = `${file}.new`;
  fs.writeFileSync(tmp, text, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}

function clientSecret() {
  try {
    const s = fs.readFileSync(path.join(DIR, 'client-secret'), 'utf8').trim();
    return /^[!-~]+$/.test(s) ? s : undefined;
  } catch {
    return undefined;
  }
}

// The clients, looked up afresh on every request (see Client.find).
function clientMetadata(id) {
  if (id === GATE_ID) {
    return {
      client_id: GATE_ID,
      client_secret: GATE_SECRET,
      grant_types: [],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    };
  }
  if (id !== CLIENT_ID) return undefined;
  const secret = clientSecret();
  const grants = ['authorization_code', 'refresh_token',
    'urn:ietf:params:oauth:grant-type:device_code'];
  const m = {
    client_id: CLIENT_ID,
    application_type: 'native',
    grant_types: secret ? [...grants, 'client_credentials'] : grants,
    response_types: ['code'],
    redirect_uris: REDIRECTS,
    token_endpoint_auth_method: secret ? 'client_secret_basic' : 'none',
    scope: 'openid offline_access git:read git:write',
  };
  if (secret) m.client_secret = secret;
  return m;
}

// An in-memory adapter (oidc-provider's own is the same idea); clients
// come from clientMetadata().
const stores = new Map();
const grantIndex = new Map();
class Adapter {
  constructor(name) {
    this.name = name;
    if (!stores.has(name)) stores.set(name, new Map());
    this.store = stores.get(name);
  }

  get(id) {
    const e = this.store.get(id);
    if (!e) return undefined;
    if (e.exp && e.exp < Date.now()) {
      this.store.delete(id);
      return undefined;
    }
    return e.payload;
  }

  async upsert(id, payload, expiresIn) {
    const exp = expiresIn ? Date.now() + expiresIn * 1000 : 0;
    this.store.set(id, { payload, exp });
    if (payload.grantId) {
      const list = grantIndex.get(payload.grantId) || [];
      list.push([this.name, id]);
      grantIndex.set(payload.grantId, list);
    }
    if (payload.userCode) this.store.set(`user:${payload.userCode}`, { payload: id, exp });
    if (payload.uid) this.store.set(`uid:${payload.uid}`, { payload: id, exp });
  }

  async find(id) {
    if (this.name === 'Client') return clientMetadata(id);
    return this.get(id);
  }

  async findByUserCode(userCode) {
    const id = this.get(`user:${userCode}`);
    return id ? this.get(id) : undefined;
  }

  async findByUid(uid) {
    const id = this.get(`uid:${uid}`);
    return id ? this.get(id) : undefined;
  }

  async consume(id) {
    const p = this.get(id);
    if (p) p.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    this.store.delete(id);
  }

  async revokeByGrantId(grantId) {
    const list = grantIndex.get(grantId) || [];
    for (const [name, id] of list) stores.get(name)?.delete(id);
    grantIndex.delete(grantId);
  }
}

function html(title, body) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;
}

// Device pages: forms with "decision" buttons, as the browser stand-in
// expects.  The approve form confirms, the deny form aborts.
function hidden(form, name) {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(form);
  return m ? `<input type="hidden" name="${name}" value="${m[1]}"/>` : '';
}

function deviceForms(action, form, code) {
  const xsrf = hidden(form, 'xsrf');
  const uc = code ? `<input type="hidden" name="user_code" value="${code}"/>` : '';
  return `<form method="post" action="${action}">${xsrf}${uc}<input type="hidden" name="confirm" value="yes"/><button type="submit" name="decision" value="approve">Approve</button></form>`
    + `<form method="post" action="${action}">${xsrf}${uc}<input type="hidden" name="abort" value="yes"/><button type="submit" name="decision" value="deny">Deny</button></form>`;
}

const config = {
  adapter: Adapter,
  clients: [],
  scopes: ['openid', 'offline_access', 'git:read', 'git:write'],
  claims: { openid: ['sub', 'preferred_username'] },
  async findAccount(_ctx, sub) {
    if (sub !== USER) return undefined;
    return { accountId: sub, claims: async () => ({ sub, preferred_username: sub }) };
  },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  pkce: { required: () => true },
  ttl: {
    AccessToken: ACCESS_TTL,
    ClientCredentials: ACCESS_TTL,
    AuthorizationCode: 60,
    DeviceCode: 600,
    RefreshToken: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
    Interaction: 600,
    Session: 3600,
    IdToken: 3600,
  },
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => true,
  features: {
    devInteractions: { enabled: false },
    deviceFlow: {
      enabled: true,
      async userCodeInputSource(ctx, form, _out, err) {
        const code = ctx.oidc.params?.user_code;
        const msg = err ? '<p>That code is not valid.</p>' : '';
        ctx.body = html('Device sign-in', code
          ? `${msg}<p>Sign in a device with the code ${code}?</p>${deviceForms(ctx.oidc.urlFor('code_verification'), form, code)}`
          : `${msg}${form.replace('</form>', '<button type="submit">Continue</button></form>')}`);
      },
      async userCodeConfirmSource(ctx, form, _client, _info, code) {
        ctx.body = html('Device sign-in', `<p>Sign in a device with the code ${code}?</p>${deviceForms(ctx.oidc.urlFor('code_verification'), form, code)}`);
      },
      async successSource(ctx) {
        ctx.body = html('Signed in', '<p>The device is signed in.</p>');
      },
    },
    revocation: { enabled: true },
    introspection: { enabled: true },
    clientCredentials: { enabled: true },
    userinfo: { enabled: args.userinfo !== 'off' },
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = html('Error', `<p>${String(out.error).replace(/[<>&"]/g, '')}: ${String(out.error_description || '').replace(/[<>&"]/g, '')}</p>`);
  },
};

function logLine(ctx) {
  const o = ctx.oidc;
  let grant = '-';
  if (ctx.path === '/token') {
    const g = o?.params?.grant_type;
    grant = typeof g === 'string' && /^[\w:.-]{1,100}$/.test(g) ? g : 'other';
  }
  let client = '-';
  if (o?.client) client = o.client.clientId;
  let result = 'ok';
  if (ctx.status >= 400 || (ctx.body && typeof ctx.body === 'object' && ctx.body.error)) {
    const e = ctx.body?.error;
    result = typeof e === 'string' && /^[a-z_]{1,60}$/.test(e) ? e : 'error';
  } else if (ctx.status >= 300 && ctx.status < 400) {
    const loc = ctx.response.get('location') || '';
    const m = /[?&#]error=([a-z_]{1,60})/.exec(loc);
    if (m) result = m[1];
  }
  const p = ctx.path.replace(/^\/(interaction|device|auth)\/(?!auth$)[\w-]+/, '/$1/UID')
    .replace(/[^\x21-\x7e]/g, '_');
  fs.appendFileSync(path.join(DIR, 'oauth.log'),
    `${ctx.method} ${p} ${ctx.status} grant_type=${grant} client=${client} result=${result}\n`);
}

// The delay of DIR/fault ("slow SECONDS", at most 600), or 0.
function tokenDelay() {
  let text;
  try {
    text = fs.readFileSync(path.join(DIR, 'fault'), 'utf8');
  } catch {
    return 0;
  }
  const m = /^slow ([0-9]{1,3}(\.[0-9]{1,3})?)\n?$/.exec(text);
  return m ? Math.min(Number(m[1]), 600) : 0;
}

// Wait SECONDS; true when the client hangs up (closes or shuts down its
// side of the connection) meanwhile.  A client that gave up must not have
// its request processed seconds later, in another test.
function hungUpDuring(socket, seconds) {
  return new Promise((resolve) => {
    if (socket.destroyed || socket.readableEnded) {
      resolve(true);
      return;
    }
    const done = (gone) => {
      clearTimeout(timer);
      socket.off('end', onGone);
      socket.off('close', onGone);
      resolve(gone);
    };
    const onGone = () => done(true);
    const timer = setTimeout(() => done(false), seconds * 1000);
    socket.once('end', onGone);
    socket.once('close', onGone);
  });
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 65536) throw new Error('body too large');
  }
  return new URLSearchParams(body);
}

// The single login-and-consent page of the fixed user.
async function interaction(provider, ctx) {
  const m = /^\/interaction\/([\w-]+)(\/decision)?$/.exec(ctx.path);
  if (!m) return false;
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== m[1]) {
    ctx.status = 400;
    ctx.body = 'interaction mismatch';
    return true;
  }
  if (!m[2] && ctx.method === 'GET') {
    const scope = String(details.params.scope || '').replace(/[<>&"]/g, '');
    ctx.type = 'html';
    ctx.body = html('Sign in', `<p>Sign in as ${USER} and allow ${details.params.client_id} (${scope})?</p>`
      + `<form method="post" action="/interaction/${details.uid}/decision">`
      + '<button type="submit" name="decision" value="approve">Approve</button>'
      + '<button type="submit" name="decision" value="deny">Deny</button></form>');
    return true;
  }
  if (!m[2] || ctx.method !== 'POST') {
    ctx.status = 405;
    return true;
  }
  const form = await readForm(ctx.req);
  let result;
  if (form.get('decision') === 'approve') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: USER, clientId: details.params.client_id });
    if (details.params.scope) grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    result = { login: { accountId: USER }, consent: { grantId } };
  } else {
    result = { error: 'access_denied', error_description: 'the user denied access' };
  }
  await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.respond = false;
  return true;
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, config);
  provider.use(async (ctx, next) => {
    if (ctx.path === '/.oauth-ping') {
      ctx.body = 'ok';
      return;
    }
    let dropped = false;
    try {
      if (ctx.path === '/token' && ctx.method === 'POST') {
        const delay = tokenDelay();
        if (delay > 0 && await hungUpDuring(ctx.req.socket, delay)) {
          // As a server whose work was cut short: nothing processed,
          // nothing answered, nothing logged.
          dropped = true;
          ctx.respond = false;
          ctx.req.socket.destroy();
          return;
        }
      }
      if (!(await interaction(provider, ctx))) await next();
    } finally {
      try {
        if (!dropped) logLine(ctx);
      } catch { /* the directory is going away */ }
    }
  });
  server.on('request', provider.callback());

  const ep = {
    issuer,
    authorization_endpoint: `${issuer}/auth`,
    token_endpoint: `${issuer}/token`,
    revocation_endpoint: `${issuer}/token/revocation`,
    device_authorization_endpoint: `${issuer}/device/auth`,
    userinfo_endpoint: `${issuer}/me`,
    introspection_endpoint: `${issuer}/token/introspection`,
  };
  if (args.userinfo === 'off') delete ep.userinfo_endpoint;
  writeAtomic(path.join(DIR, 'endpoints'),
    Object.entries(ep).map(([k, v]) => `${k} ${v}\n`).join(''));
  if (FORGE) {
    writeAtomic(path.join(FORGE, 'introspect.curl'),
      `user = "${GATE_ID}:${GATE_SECRET}"\nurl = "${ep.introspection_endpoint}"\n`, 0o600);
    if (process.getuid() === 0) {
      const st = fs.statSync(path.join(FORGE, 'tokens'));
      fs.chownSync(path.join(FORGE, 'introspect.curl'), st.uid, st.gid);
    }
  }
  writeAtomic(path.join(DIR, 'pid'), `${process.pid}\n`);
  writeAtomic(path.join(DIR, 'url'), `${issuer}\n`);
  writeAtomic(path.join(DIR, 'port'), `${port}\n`);
});

// Go when the directory does (a removed trash directory).
setInterval(() => {
  if (!fs.existsSync(DIR)) process.exit(0);
}, 1000).unref();
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
