// What a person types or pastes, read one way: by the preview page and by
// the CLI, so the same text means the same request in both.

/**
 * A time: seconds since the epoch (fractions are floored) or a date and
 * time in ISO 8601 (`2026-12-04T09:30:00Z`). Anything else throws, naming
 * `what`: a time nobody meant is no time.
 * @param {string} text
 * @param {string} what
 * @returns {number}
 */
export function readTime(text, what = 'time') {
  const value = String(text).trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Math.floor(Number(value));
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms) || ms < 0) {
    throw new Error(`${what} ${JSON.stringify(value)}: give seconds since the epoch (1800000000) or a date and time like 2026-12-04T09:30:00Z`);
  }
  return Math.floor(ms / 1000);
}

/**
 * A token as a person pastes it: a `Bearer ` prefix (any case), and line
 * breaks or spaces from wrapping, are not part of a JWT.
 * @param {string} text
 * @returns {string}
 */
export function readToken(text) {
  return String(text).replace(/^\s*bearer\s+/i, '').replace(/\s+/g, '');
}
