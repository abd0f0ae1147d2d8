// The access matrix: what each role (or the current claims) gets per path and method.

import { page } from './page.js';
import { ruleLabel, $, escapeHtml } from './dom.js';
import { nowSeconds, currentClaims } from './request.js';
import { settingsChanged } from './compare.js';

export function renderMatrix() {
  const wrap = $('matrix');
  wrap.innerHTML = '';
  if (!page.policy) return;
  const paths = $('matrix-paths').value.split('\n').map((p) => p.trim()).filter(Boolean);
  const methods = page.state.matrixMethods;
  if (!paths.length || !methods.length) {
    wrap.textContent = 'List at least one path and choose at least one method.';
    return;
  }
  let now;
  try {
    now = nowSeconds();
  } catch (e) {
    wrap.textContent = `${e.message}.`;
    return;
  }
  const request = { paths, methods, now };
  if (page.baseline && page.state.matrixRows === 'roles') {
    renderDiff(wrap, page.baseline.policy.diff(page.policy, request));
    return;
  }
  if (page.state.matrixRows === 'credential') {
    const claims = currentClaims();
    if (!claims) {
      wrap.textContent = 'The current credential has no readable claims.';
      return;
    }
    request.claims = claims;
  }
  const matrix = page.policy.matrix(request);
  wrap.append(matrixTable({
    className: 'matrix',
    caption: 'Allowed (✓) and denied (✗) methods per path',
    paths,
    methods,
    rows: matrix.rows,
    heading: (r) => ({ text: `${r.name === 'token' ? `token (${r.roles.join(', ') || 'no role'})` : r.name}${r.enabled ? '' : ' (disabled)'}` }),
    cell: (row, cell, method, path, td) => {
      td.className = `cell ${cell.allowed ? 'allow' : 'deny'}`;
      td.textContent = cell.allowed ? '✓' : '✗';
      td.dataset.allowed = String(cell.allowed);
      return `${row.name} ${method} ${path}: ${verdictOf(cell)}`;
    },
  }));
}

/**
 * A path x (row x method) table: `heading(row)` gives a row group's text
 * (and class), `cell(row, cell, method, path, td)` fills a cell and returns
 * what it says, for its title and screen readers.
 */
function matrixTable({ className, caption, paths, methods, rows, heading, cell }) {
  const table = document.createElement('table');
  table.className = className;
  const groupHead = rows.map((r) => {
    const { text, cls } = heading(r);
    return `<th scope="colgroup" colspan="${methods.length}"${cls ? ` class="${cls}"` : ''}>${escapeHtml(text)}</th>`;
  }).join('');
  const methodHead = rows.map(() => methods.map((m) => `<th scope="col">${m}</th>`).join('')).join('');
  table.innerHTML = `<caption class="visually-hidden">${caption}</caption>`
    + `<thead><tr><th scope="col" rowspan="2">Path</th>${groupHead}</tr><tr>${methodHead}</tr></thead>`;
  const body = document.createElement('tbody');
  paths.forEach((path, p) => {
    const tr = document.createElement('tr');
    tr.innerHTML = `<th scope="row" class="path">${escapeHtml(path)}</th>`;
    for (const row of rows) {
      methods.forEach((method, m) => {
        const td = document.createElement('td');
        Object.assign(td.dataset, { row: row.name, path, method });
        const why = cell(row, row.cells[p][m], method, path, td);
        td.title = why;
        td.setAttribute('aria-label', why);
        tr.append(td);
      });
    }
    body.append(tr);
  });
  table.append(body);
  return table;
}

const verdictOf = (cell) => (cell ? `${cell.allowed ? 'allowed' : 'denied'} (${cell.reason}${cell.cause ? `, ${cell.cause}` : ''})${cell.rule ? ` by ${ruleLabel(cell.rule)}` : ''}` : 'no such role');

/** The matrix compared with the baseline: the new verdict per cell, framed by its change. */
function renderDiff(wrap, diff) {
  const { paths, methods } = diff;
  const settings = settingsChanged();
  const summary = document.createElement('p');
  summary.id = 'diff-summary';
  summary.className = 'hint';
  summary.textContent = `Compared with the baseline: ${diff.grown} cell(s) allowed that were denied, ${diff.shrunk} denied that were allowed`
    + `${diff.rows.filter((r) => r.presence !== 'both').map((r) => `; role ${r.name} ${r.presence}`).join('')}`
    + `${settings.length ? `; settings changed: ${settings.join(', ')} (their effect shows in no cell)` : ''}.`;
  summary.dataset.grown = String(diff.grown);
  summary.dataset.shrunk = String(diff.shrunk);
  wrap.append(summary, matrixTable({
    className: 'matrix diff',
    caption: 'Changes from the baseline per path and method: + now allowed, − now denied',
    paths,
    methods,
    rows: diff.rows,
    heading: (r) => ({ text: `${r.name}${r.presence === 'both' ? '' : ` (${r.presence})`}`, cls: r.presence }),
    cell: (row, cell, method, path, td) => {
      const now = cell.after;
      td.className = `cell ${now ? (now.allowed ? 'allow' : 'deny') : 'absent'} ${cell.change}`;
      td.textContent = `${{ grows: '+', shrinks: '−', same: '' }[cell.change]}${now?.allowed ? '✓' : '✗'}`;
      td.dataset.change = cell.change;
      return `${row.name} ${method} ${path}: ${cell.change === 'same' ? 'unchanged' : cell.change === 'grows' ? 'now allowed' : 'now denied'};`
        + ` before ${verdictOf(cell.before)}, now ${verdictOf(now)}`;
    },
  }));
}
