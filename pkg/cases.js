// Decision test cases: the format `rolegate test` reads and the preview page
// imports and exports. One runner serves both.
//
// { "now": 1800000000, "cases": [ { "name": "...",
//     "request": { "method": "GET", "path": "/x", "headers": {...}, "claims": {...} },
//     "expect": { "allowed": true, "status": 200, "reason": "allowed", "roles": ["auditor"] } } ] }

/** Edit distance of two short words. */
function distance(a, b) {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row[j];
      row[j] = next;
    }
  }
  return row[b.length];
}

/** The candidate within two edits of `word`, for "did you mean". */
export function nearest(word, candidates) {
  return candidates.find((c) => distance(c, word) <= 2);
}

/** Deep equality for JSON values. */
export function jsonEqual(a, b) {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

/** Accepts `{cases: [...]}` or a bare array; throws an Error naming what is wrong. */
/** What a case may hold (`description` is for people). */
const CASE_MEMBERS = ['name', 'description', 'request', 'expect'];

export function normaliseCases(doc) {
  const list = Array.isArray(doc) ? doc : doc && doc.cases;
  if (!Array.isArray(list)) throw Object.assign(new Error('cases: expected {"cases": [...]} or an array'), { code: 'invalid_cases', path: 'cases' });
  if (!list.length) throw Object.assign(new Error('cases: there are no cases; a run of none proves nothing'), { code: 'invalid_cases', path: 'cases' });
  return list.map((c, i) => {
    const where = `cases[${i}]`;
    if (!c || typeof c !== 'object') throw Object.assign(new Error(`${where}: a case must be an object`), { code: 'invalid_cases', path: where });
    // A misspelt member would be ignored, and the case would prove nothing.
    for (const member of Object.keys(c)) {
      if (!CASE_MEMBERS.includes(member)) {
        const near = nearest(member, CASE_MEMBERS);
        throw Object.assign(new Error(`${where}.${member}: a case has no member ${JSON.stringify(member)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}; members: ${CASE_MEMBERS.join(', ')}`), { code: 'invalid_cases', path: `${where}.${member}` });
      }
    }
    if (!c.request || typeof c.request.path !== 'string') throw Object.assign(new Error(`${where}.request.path: every case needs a request with a path`), { code: 'invalid_cases', path: `${where}.request.path` });
    if (!c.expect || typeof c.expect !== 'object' || Array.isArray(c.expect) || !Object.keys(c.expect).length) {
      throw Object.assign(new Error(`${where}.expect: say what to expect, e.g. {"allowed": true}`), { code: 'invalid_cases', path: `${where}.expect` });
    }
    return { name: c.name || `case ${i + 1}`, request: c.request, expect: c.expect };
  });
}

/**
 * Runs cases against a loaded Policy.
 * @returns {{name: string, pass: boolean, mismatches: {field: string, expected: unknown, actual: unknown}[], decision: object}[]}
 */
export function runCases(policy, doc) {
  const defaultNow = !Array.isArray(doc) && doc && typeof doc.now === 'number' ? doc.now : undefined;
  return normaliseCases(doc).map(({ name, request, expect }, i) => {
    let decision;
    try {
      decision = policy.decide({ now: defaultNow, ...request });
    } catch (e) {
      throw Object.assign(new Error(`cases[${i}].request: ${e.message}`), { code: e.code ?? 'invalid_cases', path: `cases[${i}].request${e.path ? `.${e.path}` : ''}` });
    }
    // An expectation naming no field of a decision would never be checked.
    for (const field of Object.keys(expect)) {
      if (!Object.hasOwn(decision, field)) {
        const fields = Object.keys(decision);
        const near = nearest(field, fields);
        throw Object.assign(new Error(`cases[${i}].expect.${field}: a decision has no field ${JSON.stringify(field)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}; fields: ${fields.join(', ')}`), { code: 'invalid_cases', path: `cases[${i}].expect.${field}` });
      }
    }
    const mismatches = Object.entries(expect)
      .filter(([field, expected]) => !jsonEqual(decision[field], expected))
      .map(([field, expected]) => ({ field, expected, actual: decision[field] === undefined ? null : decision[field] }));
    return { name, pass: mismatches.length === 0, mismatches, decision };
  });
}

/** A decision in a few words: `denied 403 denied_by_rule`. */
export function decisionSummary(d) {
  return `${d.allowed ? 'allowed' : 'denied'} ${d.status} ${d.reason}${d.cause ? `/${d.cause}` : ''}`;
}

/**
 * Why a case failed, for people, as `rolegate test` and the page both say
 * it: each mismatch, what was decided and by which rule, and where the
 * trace stopped.
 * @returns {string[]}
 */
export function caseFailure(r) {
  const d = r.decision;
  const lines = r.mismatches.map((m) => `${m.field}: expected ${JSON.stringify(m.expected)}, got ${JSON.stringify(m.actual)}`);
  lines.push(`decided: ${decisionSummary(d)}${d.rule ? ` by rule ${d.rule.label} (${d.rule.effect})` : ''}${d.roles.length ? `, roles ${d.roles.join(', ')}` : ', no role granted'}`);
  const stopped = d.trace.find((t) => !t.ok);
  if (stopped) lines.push(`trace: ${stopped.step}: ${stopped.detail}`);
  return lines;
}
