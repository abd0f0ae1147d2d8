// Browser entry: `import init, { Policy } from 'rolegate'; await init();`
// init() fetches dist/rolegate_bg.wasm next to this module (or takes a URL/bytes).
// Key generation, signing and OAuth2 clients are in 'rolegate/testing', a
// second module loaded only by pages that mint tokens or create clients.
export { default, initSync, Policy, decodeToken, trustKey, grantByRoleClaim } from './dist/rolegate.js';
export { envoyConfig, envoyBootstrap } from './envoy-config.js';
export { istioWasmPlugin } from './istio-config.js';
export { runCases, normaliseCases } from './cases.js';
/** Node only: where the package's Envoy filter is. A browser has no file system. */
export const filterPath = null;
