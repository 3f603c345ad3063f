// A test OpenID provider in Keycloak's place (collabstack; not Keycloak).
//
// The protocol is panva's oidc-provider (npm, OpenID certified), not
// written here. What this file adds is Keycloak's shape, so that an app
// configured for the site's Keycloak realm talks to it unchanged:
//   - the issuer https://sso.<domain>/realms/<realm>, discovery under it;
//   - Keycloak's endpoint paths (protocol/openid-connect/auth, token,
//     userinfo, certs, logout);
//   - confidential clients as collabstack's identity/sso step registers
//     them, redirect URIs with Keycloak's trailing-* wildcard;
//   - profile and email claims in the ID token (Keycloak's default; the
//     library's default keeps them for userinfo only);
//   - no consent screen (Keycloak's clients: "Consent required" off);
//   - a login form (username, password) that checks the password as
//     Keycloak's LDAP user federation does (read-only, as identity/sso
//     sets it up): the person is found under users_dn by uid or mail with
//     the federation's own bind account, then the directory checks the
//     password by a bind as that person, so a disabled account fails
//     here too; the claims come from the entry (uid, cn, mail, the
//     entryUUID as subject). Without "ldap", users listed in the file.
//
// Settings: a JSON file (OIDC_CONFIG, default /etc/oidc-provider/config.json):
//   {"issuer": "https://sso.example.test/realms/example", "port": 8443,
//    "tls": {"cert": "/run/secrets/tls.crt", "key": "/run/secrets/tls.key"},
//    "clients": [{"client_id": "gotosocial", "secret_file": "/run/secrets/client-gotosocial",
//                 "redirect_uris": ["https://gts.example.test/*"]}],
//    "ldap": {"url": "ldap://openldap:389", "bind_dn": "cn=keycloak,ou=services,dc=example,dc=test",
//             "bind_password_file": "/run/secrets/ldap", "users_dn": "ou=people,dc=example,dc=test"},
//    "users": [{"username": "jane.doe", "password_file": "/run/secrets/jane",
//               "name": "Jane Doe", "email": "jane@example.test"}]}
// Secrets are read from files only, never from the environment.
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { AndFilter, Client as LDAPClient, EqualityFilter, OrFilter } from 'ldapts';
import Provider from 'oidc-provider';

const cfg = JSON.parse(readFileSync(process.env.OIDC_CONFIG || '/etc/oidc-provider/config.json', 'utf8'));
const secretFile = (f) => readFileSync(f, 'utf8').replace(/\r?\n$/, '');
const prefix = new URL(cfg.issuer).pathname.replace(/\/$/, '');
const loginPath = `${prefix}/login-actions/authenticate/`;

// Users: Keycloak's sub is a UUID; here a stable one from the user name.
const subOf = (username) => {
  const h = crypto.createHash('sha256').update(`collabstack-oidc-provider:${username}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};
const users = new Map();
for (const u of cfg.users || []) {
  users.set(u.username, { ...u, sub: subOf(u.username), password: secretFile(u.password_file) });
}
const bySub = new Map([...users.values()].map((u) => [u.sub, u]));

// checkLDAP finds name (a uid or a mail) in the directory with the
// federation's account and binds as that person with password; it
// returns the person (also kept for findAccount) or null.
const ldap = cfg.ldap && { ...cfg.ldap, password: secretFile(cfg.ldap.bind_password_file) };
const first = (v) => (Array.isArray(v) ? v[0] : v);
async function checkLDAP(name, password) {
  if (!name || !password) return null; // an empty password would be an anonymous bind
  const reader = new LDAPClient({ url: ldap.url, timeout: 10000, connectTimeout: 10000 });
  let entry;
  try {
    await reader.bind(ldap.bind_dn, ldap.password);
    const { searchEntries } = await reader.search(ldap.users_dn, {
      scope: 'one',
      filter: new AndFilter({
        filters: [
          new EqualityFilter({ attribute: 'objectClass', value: 'inetOrgPerson' }),
          new OrFilter({ filters: [new EqualityFilter({ attribute: 'uid', value: name }), new EqualityFilter({ attribute: 'mail', value: name })] }),
        ],
      }),
      attributes: ['uid', 'cn', 'mail', 'entryUUID'],
    });
    if (searchEntries.length !== 1) return null;
    [entry] = searchEntries;
  } finally {
    await reader.unbind().catch(() => {});
  }
  const person = new LDAPClient({ url: ldap.url, timeout: 10000, connectTimeout: 10000 });
  try {
    await person.bind(entry.dn, password);
  } catch (err) {
    if (err.name === 'InvalidCredentialsError') return null;
    throw err;
  } finally {
    await person.unbind().catch(() => {});
  }
  const u = { username: first(entry.uid), name: first(entry.cn), email: first(entry.mail), sub: first(entry.entryUUID) };
  if (!u.sub || !u.username) return null;
  bySub.set(u.sub, u);
  return u;
}

async function checkPassword(name, password) {
  if (ldap) return checkLDAP(name, password);
  const u = users.get(name) || [...users.values()].find((x) => x.email && x.email === name);
  return u && sameSecret(password, u.password) ? u : null;
}

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: crypto.randomUUID() };

const provider = new Provider(cfg.issuer, {
  clients: (cfg.clients || []).map((c) => ({
    client_id: c.client_id,
    client_secret: secretFile(c.secret_file),
    redirect_uris: c.redirect_uris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: c.token_endpoint_auth_method || 'client_secret_basic',
  })),
  jwks: { keys: [jwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  routes: {
    authorization: '/protocol/openid-connect/auth',
    token: '/protocol/openid-connect/token',
    userinfo: '/protocol/openid-connect/userinfo',
    jwks: '/protocol/openid-connect/certs',
    end_session: '/protocol/openid-connect/logout',
  },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  claims: {
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  conformIdTokenClaims: false,
  // Keycloak's realm defaults: tokens 5 minutes, codes 1 minute, the
  // login session 30 minutes.
  ttl: {
    AccessToken: 300,
    AuthorizationCode: 60,
    IdToken: 300,
    Interaction: 1800,
    Session: 1800,
    Grant: 1800,
    RefreshToken: 1800,
  },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `${loginPath}${interaction.uid}` },
  async findAccount(ctx, sub) {
    const u = bySub.get(sub);
    if (!u) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, preferred_username: u.username, name: u.name, email: u.email, email_verified: true };
      },
    };
  },
  // No consent screen: the scopes the client asks for are granted.
  async loadExistingGrant(ctx) {
    const { oidc } = ctx;
    const id = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
    if (id) {
      const grant = await oidc.provider.Grant.find(id);
      if (grant) return grant;
    }
    if (!oidc.session.accountId) return undefined;
    const grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
    grant.addOIDCScope(oidc.params.scope || 'openid');
    await grant.save();
    return grant;
  },
});

// Keycloak's redirect URIs may end in * (any path below).
provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(value) {
  return this.redirectUris.some((allowed) => (allowed.endsWith('*')
    ? value.startsWith(allowed.slice(0, -1))
    : value === allowed));
};

provider.on('server_error', (ctx, err) => console.error('server_error', err));

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const loginPage = (action, username, error) => `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign in to ${esc(cfg.title || 'the site')}</title></head>
<body><h1>Sign in to your account</h1>
<p>Test OpenID provider in Keycloak's place (collabstack stand-in, not Keycloak).</p>
${error ? `<p id="input-error" role="alert">${esc(error)}</p>` : ''}
<form id="kc-form-login" method="post" action="${esc(action)}">
<label for="username">Username or email</label><input id="username" name="username" value="${esc(username)}" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password">
<input type="submit" name="login" id="kc-login" value="Sign In">
</form></body></html>
`;

const readForm = (req) => new Promise((resolve, reject) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => {
    body += d;
    if (body.length > 16384) reject(new Error('form too large'));
  });
  req.on('end', () => resolve(new URLSearchParams(body)));
  req.on('error', reject);
});

const sameSecret = (a, b) => {
  const x = crypto.createHash('sha256').update(a).digest();
  const y = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(x, y);
};

const send = (res, status, html) => {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
};

async function login(req, res) {
  const details = await provider.interactionDetails(req, res);
  const action = req.url.split('?')[0];
  if (details.prompt.name === 'consent') {
    // loadExistingGrant grants what is asked; should consent still be
    // prompted for, it is given the same way.
    const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope || 'openid');
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  if (details.prompt.name !== 'login') return send(res, 400, 'unexpected prompt');
  if (req.method === 'GET') return send(res, 200, loginPage(action, '', ''));
  if (req.method !== 'POST') return send(res, 405, 'method not allowed');
  const form = await readForm(req);
  const name = form.get('username') || '';
  const u = await checkPassword(name, form.get('password') || '');
  if (!u) {
    console.log(`login refused for ${JSON.stringify(name.slice(0, 64))}`);
    return send(res, 200, loginPage(action, name, 'Invalid username or password.'));
  }
  console.log(`login of ${u.username}`);
  return provider.interactionFinished(req, res, { login: { accountId: u.sub } }, { mergeWithLastSubmission: false });
}

const oidc = provider.callback();
const handler = (req, res) => {
  const path = req.url.split('?')[0];
  if (path.startsWith(loginPath)) {
    login(req, res).catch((err) => {
      console.error('login:', err.message);
      if (!res.headersSent) send(res, 400, `<p>${esc(err.message)}</p>`);
    });
    return;
  }
  if (path === prefix || path.startsWith(`${prefix}/`)) {
    // Mounted under the issuer's path, as express would mount it.
    req.originalUrl = req.url;
    req.url = req.url.slice(prefix.length) || '/';
    oidc(req, res);
    return;
  }
  send(res, 404, 'not found');
};

const port = Number(cfg.port || 8443);
const server = cfg.tls
  ? https.createServer({ cert: readFileSync(cfg.tls.cert), key: readFileSync(cfg.tls.key) }, handler)
  : http.createServer(handler);
server.listen(port, () => console.log(`oidc-provider ${cfg.issuer} on port ${port}${cfg.tls ? ' (TLS)' : ''}`));
