// An OpenID Connect issuer for the tests: panva's oidc-provider (an OpenID-certified implementation
// nobody here wrote) on loopback, so the console's sign-in is tested against a real issuer's rules:
// authorization code, PKCE with S256 required, state and nonce, JWT access tokens for one API.
//
// Settings come from the environment:
//   JOURNEY_OIDC_CLIENT_ID     the console's client id (a public client: no secret, PKCE only)
//   JOURNEY_OIDC_REDIRECT_URI  where the issuer may send the code (the console's callback)
//   JOURNEY_OIDC_AUDIENCE      the API the access tokens are for (their "aud", a URI)
//   JOURNEY_OIDC_GRANTED       the API scopes every person is granted, space separated
//   JOURNEY_OIDC_PORT          the loopback port to listen on (0 or unset: any free one)
//   JOURNEY_OIDC_HOST          the host name in the issuer's address (default 127.0.0.1; "localhost"
//                              makes the issuer another site than a console at 127.0.0.1)
// It prints one JSON line, {"issuer": "http://<host>:<port>"}, once it listens, and runs until
// its standard input closes. Its own login page accepts any login with any password.
import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const clientId = process.env.JOURNEY_OIDC_CLIENT_ID;
const redirectUri = process.env.JOURNEY_OIDC_REDIRECT_URI;
const audience = process.env.JOURNEY_OIDC_AUDIENCE;
const granted = (process.env.JOURNEY_OIDC_GRANTED ?? '').split(' ').filter((s) => s.length > 0);
if (!clientId || !redirectUri || !audience) {
  console.error('JOURNEY_OIDC_CLIENT_ID, JOURNEY_OIDC_REDIRECT_URI and JOURNEY_OIDC_AUDIENCE are required');
  process.exit(2);
}

const server = createServer();
await new Promise((resolve) => server.listen(Number(process.env.JOURNEY_OIDC_PORT ?? 0), '127.0.0.1', resolve));
const issuer = `http://${process.env.JOURNEY_OIDC_HOST ?? '127.0.0.1'}:${server.address().port}`;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    token_endpoint_auth_method: 'none',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  jwks: { keys: [signingKey] },
  scopes: ['openid'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => {
        if (resource !== audience) throw new Provider.errors.InvalidTarget();
        return { scope: granted.join(' '), audience, accessTokenFormat: 'jwt', accessTokenTTL: 3600, jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
  // A first-party console: the person is not asked to consent to the scopes the organisation grants.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid');
    grant.addResourceScope(audience, granted.join(' '));
    await grant.save();
    return grant;
  },
  findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
});
server.on('request', provider.callback());
console.log(JSON.stringify({ issuer }));

process.stdin.resume();
process.stdin.on('end', () => server.close(() => process.exit(0)));
