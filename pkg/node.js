// Node entry: the module is ready on import; no init() call is needed.
import { readFileSync } from 'node:fs';
import { initSync } from './dist/rolegate.js';

initSync({ module: readFileSync(new URL('./dist/rolegate_bg.wasm', import.meta.url)) });

export { initSync, Policy, decodeToken, mintToken, generateKey, createClient, trustKey, addTokenEndpoint, grantByRoleClaim } from './dist/rolegate.js';
export { envoyConfig, envoyBootstrap } from './envoy-config.js';
export { runCases, normaliseCases } from './cases.js';

/** Present for symmetry with the browser entry; the module is already initialised. */
export default async function init() {}
