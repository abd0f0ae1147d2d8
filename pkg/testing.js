// Browser entry of the testing module: `import initTesting, { mintToken }
// from 'rolegate/testing'; await initTesting();` (it fetches
// dist/rolegate_testing_bg.wasm). Test tokens, key pairs and OAuth2 clients:
// everything that generates keys or signs. Documents go in and out as JSON,
// so it works with any Policy of the main module. In Node, 'rolegate' has it all.
export { default, initSync, mintToken, generateKey, createClient, addTokenEndpoint } from './dist/rolegate_testing.js';
