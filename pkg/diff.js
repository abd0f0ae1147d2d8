// What a policy diff shows besides the role x path x method cells (those
// come from the core's `Policy.diff`): the top-level settings that differ,
// such as issuers or required scopes, whose effect no cell shows.
import { jsonEqual } from './cases.js';

/** Names of the top-level members (other than `roles`) that differ, sorted. */
export function changedSettings(before, after) {
  const names = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  names.delete('roles');
  names.delete('description');
  return [...names].filter((name) => !jsonEqual(before?.[name], after?.[name])).sort();
}
