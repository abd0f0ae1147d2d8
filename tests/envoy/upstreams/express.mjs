// An Express 4 upstream as admin APIs are written: routes match paths
// case-insensitively (Express's default), so /Config runs the /config route,
// and method-override runs a POST as the method in `?_method=` or
// `X-HTTP-Method-Override` or in a form body's `_method`. Every request is recorded with the route and
// the method that ran it.
import express from 'express';
import methodOverride from 'method-override';

export async function startExpressUpstream() {
  const hits = [];
  const app = express();
  app.use(methodOverride('_method'));
  app.use(methodOverride('X-HTTP-Method-Override'));
  // And from a form body's _method field, as method-override's docs show.
  app.use(express.urlencoded({ extended: false }));
  app.use(methodOverride((req) => req.body?._method));
  const route = (name) => (req, res) => {
    hits.push({ route: name, method: req.method, path: req.originalUrl, headers: req.headers });
    res.json({ route: name });
  };
  for (const [name, path] of [
    ['config', '/pa-admin-api/v3/config'],
    ['backup', '/pa-admin-api/v3/backup'],
    ['agent config', '/pa-admin-api/v3/agent/:id/config'],
    ['user', '/pa-admin-api/v3/users/:id'],
    ['auth', '/pa-admin-api/v3/auth/:x'],
  ]) app.all(path, route(name));
  app.use(route('other'));
  const server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  return { port: server.address().port, hits, close: () => new Promise((r) => server.close(r)) };
}
