// The package's testing module (key generation, signing, OAuth2 clients),
// loaded the first time someone mints a token or creates a client: the page
// shows decisions without downloading it.

let loading = null;

/** The initialised testing module (one download, however often asked). */
export function testing() {
  loading ??= import('./rolegate/testing.js').then(async (module) => {
    await module.default();
    return module;
  });
  return loading;
}
