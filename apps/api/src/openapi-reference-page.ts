import type { OpenApiDocument } from './openapi-document.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/**
 * A reference page for `/docs`, rendered on the server from the OpenAPI document: every operation with its
 * parameters, body and responses, then every named schema. Plain HTML with no script and nothing fetched
 * from elsewhere, so it works offline and behind a strict Content-Security-Policy, and costs no bundle.
 */
export function renderReferencePage(doc: OpenApiDocument): string {
  const operations: string[] = [];
  const toc: string[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = (item as Record<string, unknown>)[method] as Record<string, Json> | undefined;
      if (!op) continue;
      const anchor = `op-${method}-${path.replace(/[^A-Za-z0-9]+/g, '-')}`;
      toc.push(`<li><a href="#${anchor}"><code class="m ${method}">${method.toUpperCase()}</code> ${esc(path)}</a></li>`);
      operations.push(renderOperation(anchor, method, path, op));
    }
  }
  const schemas = Object.entries((doc.components?.schemas ?? {}) as Record<string, Json>).map(
    ([name, schema]) => `<section id="schema-${esc(name)}"><h3>${esc(name)}</h3>${jsonBlock(schema)}</section>`,
  );
  const security = Object.entries((doc.components?.securitySchemes ?? {}) as unknown as Record<string, Record<string, Json>>).map(
    ([name, s]) => `<li><b>${esc(name)}</b>: ${esc(String(s['scheme'] ?? s['type']))} — ${esc(String(s['description'] ?? ''))}</li>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)} API ${esc(doc.info.version)}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
code,pre{font:13px/1.4 ui-monospace,monospace}pre{background:#f4f5f7;padding:.75rem;overflow:auto;border-radius:4px}
.m{display:inline-block;min-width:4.2em;font-weight:bold}.get{color:#1a7f37}.post{color:#0550ae}.delete{color:#cf222e}
section{border-top:1px solid #d0d7de;padding:.5rem 0}table{border-collapse:collapse}td,th{padding:.2rem .6rem;text-align:left;vertical-align:top}
a{color:#0969da}
</style></head><body>
<h1>${esc(doc.info.title)} <small>${esc(doc.info.version)}</small></h1>
<p>${esc(doc.info.description ?? '')} The machine-readable document is at <a href="/openapi.json">/openapi.json</a> (OpenAPI ${esc(doc.openapi)}).</p>
<h2>Authentication</h2><ul>${security.join('')}</ul>
<h2>Operations</h2><ul>${toc.join('')}</ul>
${operations.join('\n')}
<h2>Schemas</h2>
${schemas.join('\n')}
</body></html>
`;
}

function renderOperation(anchor: string, method: string, path: string, op: Record<string, Json>): string {
  const params = Array.isArray(op['parameters']) ? (op['parameters'] as Record<string, Json>[]) : [];
  const paramRows = params.map(
    (p) =>
      `<tr><td><code>${esc(String(p['name']))}</code></td><td>${esc(String(p['in']))}${p['required'] ? ', required' : ''}</td><td>${esc(String(p['description'] ?? ''))}</td><td>${schemaView(p['schema'] ?? null)}</td></tr>`,
  );
  const body = op['requestBody'] as Record<string, Json> | undefined;
  const responses = Object.entries((op['responses'] ?? {}) as Record<string, Record<string, Json>>).map(
    ([status, r]) => `<tr><td><b>${esc(status)}</b></td><td>${esc(String(r['description'] ?? ''))}</td><td>${contentView(r['content'])}</td></tr>`,
  );
  const security = Array.isArray(op['security']) && op['security'].length === 0 ? '<p><i>No key needed.</i></p>' : '';
  return `<section id="${anchor}"><h3><code class="m ${method}">${method.toUpperCase()}</code> <code>${esc(path)}</code></h3>
<p>${esc(String(op['summary'] ?? ''))}</p>${security}
${paramRows.length ? `<h4>Parameters</h4><table>${paramRows.join('')}</table>` : ''}
${body ? `<h4>Request body</h4>${contentView(body['content'])}` : ''}
<h4>Responses</h4><table>${responses.join('')}</table></section>`;
}

function contentView(content: Json | undefined): string {
  if (!content || typeof content !== 'object' || Array.isArray(content)) return '';
  return Object.entries(content)
    .map(([type, media]) => `<div><code>${esc(type)}</code> ${schemaView((media as Record<string, Json>)['schema'] ?? null)}</div>`)
    .join('');
}

/** A reference links to its schema below; an inline schema is shown as JSON. */
function schemaView(schema: Json): string {
  if (schema && typeof schema === 'object' && !Array.isArray(schema) && typeof schema['$ref'] === 'string') {
    const name = schema['$ref'].replace('#/components/schemas/', '');
    return `<a href="#schema-${esc(name)}">${esc(name)}</a>`;
  }
  return jsonBlock(schema);
}

function jsonBlock(value: Json): string {
  return `<pre>${esc(JSON.stringify(value, null, 2))}</pre>`;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
