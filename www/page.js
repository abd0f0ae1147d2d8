// What the page holds between events: the form's state and what the core
// last answered. One object, so every module reads the same.

export const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export const PRESETS = {
  pingaccess: {
    file: './presets/pingaccess.json',
    paths: ['/pa-admin-api/v3/applications', '/pa-admin-api/v3/users/1', '/pa-admin-api/v3/auth/oauth',
      '/pa-admin-api/v3/environment', '/pa-admin-api/v3/config/export', '/pa-admin-api/v3/backup',
      '/pa-admin-api/v3/agent/1', '/pa-admin-api/v3/agent/1/config'],
    path: '/pa-admin-api/v3/config/export',
    claims: (p, now) => ({
      iss: p.issuers[0].issuer, aud: p.issuers[0].audiences[0], sub: 'alice', scope: 'admin',
      group: 'cn=pingaccess-auditors,o=myorg', iat: now, exp: now + 3600,
    }),
  },
  pexip: {
    file: './presets/pexip.json',
    paths: ['/api/admin/configuration/v1/conference/', '/api/admin/configuration/v1/authentication/1/',
      '/api/admin/configuration/v1/system_location/', '/api/admin/status/v1/conference/',
      '/api/admin/command/v1/conference/disconnect/', '/api/admin/history/v1/conference/'],
    path: '/api/admin/configuration/v1/authentication/1/',
    claims: (p, now) => ({
      iss: p.issuers[0].issuer, aud: p.issuers[0].audiences[0], client_id: 'c-admin-1', role: 'administrator',
      jti: 'preview', iat: now, exp: now + 3600,
    }),
  },
};

export const page = {
  state: {
    preset: 'pingaccess',
    mode: 'claims',
    matrixRows: 'roles',
    matrixMethods: ['GET', 'POST', 'PUT', 'DELETE'],
    cases: [],
  },
  /** The loaded Policy, or null while the text is invalid. */
  policy: null,
  lastDecision: null,
  /** {policy, doc}: the policy the matrix is compared with, or null. */
  baseline: null,
  /** {privateJwk, publicJwk}, made on the first mint. */
  testKey: null,
  stashedAdminAttributes: null,
  presetDocs: {},
};
