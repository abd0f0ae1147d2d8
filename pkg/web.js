// Browser entry: `import init, { Policy } from 'rolegate'; await init();`
// init() fetches dist/rolegate_bg.wasm next to this module (or takes a URL/bytes).
export { default, initSync, Policy, decodeToken, mintToken, generateKey, createClient, trustKey, addTokenEndpoint, grantByRoleClaim } from './dist/rolegate.js';
export { envoyConfig, envoyBootstrap } from './envoy-config.js';
/** Node only: where the package's Envoy filter is. A browser has no file system. */
export const filterPath = null;
export { runCases, normaliseCases } from './cases.js';
export { istioWasmPlugin } from './istio-config.js';
