// The access matrix: what each role (or the current claims) gets per path and method.

import { page } from './page.js';
import { ruleLabel, $, escapeHtml } from './dom.js';
import { nowSeconds, currentClaims } from './request.js';

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
  if (page.state.matrixRows === 'credential') {
    const claims = currentClaims();
    if (!claims) {
      wrap.textContent = 'The current credential has no readable claims.';
      return;
    }
    request.claims = claims;
  }
  const matrix = page.policy.matrix(request);
  const table = document.createElement('table');
  table.className = 'matrix';
  const groupHead = matrix.rows.map((r) => `<th scope="colgroup" colspan="${methods.length}">${escapeHtml(r.name === 'token' ? `token (${r.roles.join(', ') || 'no role'})` : r.name)}${r.enabled ? '' : ' (disabled)'}</th>`).join('');
  const methodHead = matrix.rows.map(() => methods.map((m) => `<th scope="col">${m}</th>`).join('')).join('');
  table.innerHTML = `<caption class="visually-hidden">Allowed (✓) and denied (✗) methods per path</caption>`
    + `<thead><tr><th scope="col" rowspan="2">Path</th>${groupHead}</tr><tr>${methodHead}</tr></thead>`;
  const body = document.createElement('tbody');
  paths.forEach((path, p) => {
    const tr = document.createElement('tr');
    tr.innerHTML = `<th scope="row" class="path">${escapeHtml(path)}</th>`;
    for (const row of matrix.rows) {
      methods.forEach((method, m) => {
        const cell = row.cells[p][m];
        const td = document.createElement('td');
        td.className = `cell ${cell.allowed ? 'allow' : 'deny'}`;
        td.textContent = cell.allowed ? '✓' : '✗';
        td.dataset.row = row.name;
        td.dataset.path = path;
        td.dataset.method = method;
        td.dataset.allowed = String(cell.allowed);
        const why = `${row.name} ${method} ${path}: ${cell.allowed ? 'allowed' : 'denied'} (${cell.reason}${cell.cause ? `, ${cell.cause}` : ''})`
          + (cell.rule ? ` by ${ruleLabel(cell.rule)}` : '');
        td.title = why;
        td.setAttribute('aria-label', why);
        tr.append(td);
      });
    }
    body.append(tr);
  });
  table.append(body);
  wrap.append(table);
}
