// A real OpenID provider (panva/oidc-provider, OpenID Certified) on loopback, for vetoflow's OIDC tests.
//
// Usage: node provider.js PORT   (environment: OIDC_JWKS_FILE, OIDC_REDIRECT_URIS, OIDC_API_AUDIENCE)
// - signing keys: the private JWK set in OIDC_JWKS_FILE (the test makes it, so it can also mint bad tokens);
// - users (login form, password checked) whose `groups` claim carries vetoflow roles;
// - client `vetoflow-console` (confidential, authorization code + PKCE) for the console login;
// - client `vetoflow-api-tester` (public, authorization code + PKCE) that asks for a JWT access token for the API
//   (resource indicator = OIDC_API_AUDIENCE), and `vetoflow-short-lived` whose API tokens live 1 second.
import { Provider, errors } from 'oidc-provider';
import { readFileSync } from 'node:fs';

const port = Number(process.argv[2] || 0);
const issuer = `http://127.0.0.1:${port}`;
const jwks = JSON.parse(readFileSync(process.env.OIDC_JWKS_FILE, 'utf8'));
const redirectUris = (process.env.OIDC_REDIRECT_URIS || '').split(',').filter(Boolean);
const apiAudience = process.env.OIDC_API_AUDIENCE || 'https://api.vetoflow.test';
const otherAudience = 'https://other-api.example.test';
const testerRedirect = 'http://127.0.0.1:9/callback'; // never opened: the test reads the code off the redirect

const USERS = {
  ana: { password: 'ana-Secret-123', name: 'Ana Approver', groups: ['approver'] },
  vic: { password: 'vic-Secret-123', name: 'Vic Viewer', groups: ['viewer'] },
  nora: { password: 'nora-Secret-123', name: 'Nora Nobody', groups: ['marketing'] },
  fin: { password: 'fin-Secret-123', name: 'Fin Lead', groups: ['finance-leads', 'staff'] },
};

const account = (id) => ({
  accountId: id,
  async claims() {
    const user = USERS[id];
    return { sub: id, preferred_username: id, name: user.name, groups: user.groups };
  },
});

const configuration = {
  jwks,
  clients: [
    {
      client_id: 'vetoflow-console',
      client_secret: 'console-secret-0123456789abcdef',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: redirectUris.length ? redirectUris : ['http://127.0.0.1:9/never'],
      post_logout_redirect_uris: redirectUris.map((uri) => uri.replace(/\/callback$/, '/signed-out')),
    },
    ...['vetoflow-api-tester', 'vetoflow-short-lived'].map((clientId) => ({
      client_id: clientId,
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [testerRedirect],
    })),
  ],
  claims: { openid: ['sub'], profile: ['preferred_username', 'name'], groups: ['groups'] },
  scopes: ['openid', 'profile', 'groups', 'api'],
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf,
      useGrantedResource: async () => false,
      getResourceServerInfo: async (ctx, resource, client) => {
        if (resource !== apiAudience && resource !== otherAudience) throw new errors.InvalidTarget();
        return {
          scope: 'api',
          audience: resource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: client.clientId === 'vetoflow-short-lived' ? 1 : 300,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  async findAccount(ctx, id) {
    return USERS[id] ? account(id) : undefined;
  },
  async extraTokenClaims(ctx, token) {
    const user = token.accountId && USERS[token.accountId];
    return user ? { groups: user.groups, preferred_username: token.accountId } : undefined;
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { required: () => true },
  ttl: { Session: 600, Interaction: 600, Grant: 600, AuthorizationCode: 60, IdToken: 300 },
};

const provider = new Provider(issuer, configuration);

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const loginPage = (uid, message) => `<!doctype html><html><head><title>Test provider: sign in</title></head><body>
<h1>Test OpenID provider</h1>${message ? `<p id="error">${escape(message)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>User <input id="login" name="login" autocomplete="username"></label>
<label>Password <input id="password" name="password" type="password"></label>
<button id="submit" type="submit">Sign in</button></form></body></html>`;

async function formBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function consent(ctx, details) {
  // First-party clients: consent is implied, so the grant is made without a page.
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  for (const [indicator, scope] of Object.entries(prompt.details.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scope.join(' '));
  }
  const saved = await grant.save();
  const result = { consent: grantId ? {} : { grantId: saved } };
  return provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
}

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (!match) return next();
  ctx.set('cache-control', 'no-store');
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (ctx.method === 'GET' && details.prompt.name === 'consent') return consent(ctx, details);
  if (ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body = loginPage(details.uid);
    return undefined;
  }
  const form = await formBody(ctx.req);
  const login = form.get('login') || '';
  const user = USERS[login];
  if (!user || user.password !== form.get('password')) {
    ctx.status = 401;
    ctx.type = 'html';
    ctx.body = loginPage(details.uid, 'wrong user or password');
    return undefined;
  }
  return provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: login } }, {
    mergeWithLastSubmission: false,
  });
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
