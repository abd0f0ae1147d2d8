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
 * A token as a person pastes it: a `Bearer ` or `DPoP ` prefix (any case), and line
 * breaks or spaces from wrapping, are not part of a JWT.
 * @param {string} text
 * @returns {string}
 */
export function readToken(text) {
  return String(text).replace(/^\s*(?:bearer|dpop)\s+/i, '').replace(/\s+/g, '');
}

/**
 * JSON text as `JSON.parse` reads it, but an error says where, as
 * `line:column` (JSON.parse's own messages often give no position):
 * `Error: <what>:3:14: not JSON: ...`.
 * @param {string} text
 * @param {string} what  the file or field, for the message
 * @returns {unknown}
 */
export function readJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (e) {
    const at = jsonErrorOffset(text);
    const before = text.slice(0, at).split('\n');
    const where = `${before.length}:${before.at(-1).length + 1}`;
    throw Object.assign(new Error(`${what}:${where}: not JSON: ${e.message}`), { code: 'invalid_json', line: before.length, column: before.at(-1).length + 1 });
  }
}

/** Where JSON text first goes wrong (its length when it stops short). */
function jsonErrorOffset(text) {
  let i = 0;
  const ws = () => { while (/[ \t\n\r]/.test(text[i] ?? '')) i++; };
  const fail = () => { throw i; };
  const literal = (word) => { if (text.startsWith(word, i)) i += word.length; else fail(); };
  const string = () => {
    i++; // the opening quote
    for (;;) {
      const c = text[i];
      if (c === undefined || c < ' ') fail();
      if (c === '"') { i++; return; }
      if (c === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 5;
        } else if ('"\\/bfnrt'.includes(text[i] ?? 'x')) i++;
        else fail();
      } else i++;
    }
  };
  const value = () => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) { i++; return; }
      for (;;) {
        ws();
        if (c === '{') {
          if (text[i] !== '"') fail();
          string();
          ws();
          if (text[i] !== ':') fail();
          i++;
        }
        value();
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === close) { i++; return; }
        fail();
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    const number = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!number) fail();
    i += number[0].length;
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return text.length;
  } catch (at) {
    if (typeof at === 'number') return at;
    throw at;
  }
}

/**
 * Seconds since the epoch as ISO 8601 in UTC (`2027-01-15T08:00:00Z`), to
 * show beside the number.
 * @param {number} seconds
 * @returns {string}
 */
export function isoTime(seconds) {
  return new Date(seconds * 1000).toISOString().replace(/\.000Z$/, 'Z');
}
