// Node entry: both modules are ready on import; no init() call is needed.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { initSync } from './dist/rolegate.js';
import { initSync as initTestingSync } from './dist/rolegate_testing.js';
import { envoyConfig as config, envoyBootstrap as bootstrap } from './envoy-config.js';

// Both modules, synchronously: a harness mints tokens and decides at once.
initSync({ module: readFileSync(new URL('./dist/rolegate_bg.wasm', import.meta.url)) });
initTestingSync({ module: readFileSync(new URL('./dist/rolegate_testing_bg.wasm', import.meta.url)) });

export { initSync, Policy, decodeToken, trustKey, grantByRoleClaim } from './dist/rolegate.js';
export { mintToken, generateKey, createClient, addTokenEndpoint } from './dist/rolegate_testing.js';

/** The Envoy filter this package ships (null when it was not built into it). */
export const filterPath = (() => {
  const path = fileURLToPath(new URL('./filter/rolegate_filter.wasm', import.meta.url));
  return existsSync(path) ? path : null;
})();

// In Node the generated config points at the package's own filter unless told otherwise.
const withFilter = (options) => ({ ...options, wasmPath: options?.wasmPath ?? filterPath ?? undefined });
export const envoyConfig = (policy, options = {}) => config(policy, withFilter(options));
export const envoyBootstrap = (options) => bootstrap(withFilter(options));
export { runCases, normaliseCases } from './cases.js';
export { istioWasmPlugin } from './istio-config.js';

/** Present for symmetry with the browser entry; the module is already initialised. */
export default async function init() {}
