// Types of 'rolegate/testing': in browsers a module of its own (call the
// default export once before use); in Node the same exports as 'rolegate'.
export { mintToken, generateKey, createClient, addTokenEndpoint } from './index.js';
export type { MintOptions, KeyPair, NewClient, OAuthClientEntry } from './index.js';

/** Browsers: loads the testing module's wasm (dist/rolegate_testing_bg.wasm, or the given URL/bytes). */
export default function init(module?: unknown): Promise<unknown>;
