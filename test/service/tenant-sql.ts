// A conservative reading of one SQL statement's text: which tables it names (FROM, JOIN, INTO, UPDATE, USING, with
// their aliases), and whether each tenant table among them is tied to tenant_id, so that Citus, distributing every
// tenant table by tenant_id, can route the statement to one shard. Not a SQL parser: it errs towards complaining.

export interface TableReference {
  schema: string | undefined;
  table: string;
  alias: string | undefined;
  /** Where the reference starts and ends in the normalized text. */
  start: number;
  end: number;
}

export interface RoutingVerdict {
  /** Tenant tables the statement names. */
  tenantTables: string[];
  /** What keeps it from routing to one shard; empty when it routes (or names no tenant table). */
  problems: string[];
}

const keywords = new Set([
  'where',
  'set',
  'on',
  'using',
  'join',
  'left',
  'right',
  'inner',
  'outer',
  'full',
  'cross',
  'natural',
  'lateral',
  'group',
  'order',
  'limit',
  'offset',
  'for',
  'returning',
  'values',
  'select',
  'union',
  'except',
  'intersect',
  'having',
  'window',
  'default',
  'on',
  'do',
  'as',
  'with',
  'from',
  'into',
  'and',
  'or',
  'not',
  'then',
  'when',
  'else',
  'end',
  'fetch',
]);

/** Comments, string literals and quoted identifiers' quotes out, lower case, one space between tokens. */
export function normalizeStatement(text: string): string {
  return text
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\$([a-z_]*)\$[\s\S]*?\$\1\$/gi, "''")
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/"([a-z_][a-z0-9_]*)"/gi, '$1')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

type Token = { kind: 'word' | 'punct' | 'other'; text: string; start: number; end: number };

function tokenize(normalized: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /([a-z_][a-z0-9_$]*(?:\.[a-z_][a-z0-9_$]*)*)|([(),;])|(\S)/g;
  for (const match of normalized.matchAll(pattern)) {
    const at = { start: match.index, end: match.index + match[0].length };
    if (match[1]) tokens.push({ kind: 'word', text: match[1], ...at });
    else if (match[2]) tokens.push({ kind: 'punct', text: match[2], ...at });
    else tokens.push({ kind: 'other', text: match[3], ...at });
  }
  return tokens;
}

/** The tables a statement names, with their aliases; function calls and subqueries in FROM are skipped. */
export function tableReferences(normalized: string): TableReference[] {
  const tokens = tokenize(normalized);
  const references: TableReference[] = [];
  const skipParens = (i: number) => {
    let depth = 0;
    for (; i < tokens.length; i++) {
      if (tokens[i].text === '(') depth++;
      else if (tokens[i].text === ')' && --depth === 0) return i + 1;
    }
    return i;
  };
  // One item at i: a table (with alias), a function call or a subquery; returns the index after it. After INTO, a
  // parenthesis is the column list. The caller's scan still walks through every token, so tables inside subqueries
  // and function arguments are found by their own FROM and JOIN.
  const readItem = (i: number, into: boolean): number => {
    if (tokens[i]?.text === 'only' || tokens[i]?.text === 'lateral') i++;
    const token = tokens[i];
    if (!token) return i;
    if (token.text === '(') i = skipParens(i);
    else if (token.kind === 'word' && !into && tokens[i + 1]?.text === '(') i = skipParens(i + 1);
    else if (token.kind === 'word' && !keywords.has(token.text)) {
      const parts = token.text.split('.');
      const table = parts.at(-1)!;
      const schema = parts.length > 1 ? parts.at(-2) : undefined;
      const start = token.start;
      i++;
      if (tokens[i]?.text === 'as') i++;
      let alias: string | undefined;
      if (tokens[i]?.kind === 'word' && !keywords.has(tokens[i].text) && !tokens[i].text.includes('.'))
        alias = tokens[i++].text;
      references.push({ schema, table, alias, start, end: tokens[i - 1].end });
      return i;
    } else return i + 1;
    // After a function call or subquery: an optional alias and its column list.
    if (tokens[i]?.text === 'as') i++;
    if (tokens[i]?.kind === 'word' && !keywords.has(tokens[i].text)) i++;
    if (tokens[i]?.text === '(') i = skipParens(i);
    return i;
  };
  for (let i = 0; i < tokens.length; i++) {
    const word = tokens[i].text;
    if (word === 'into' || word === 'update' || word === 'join' || (word === 'using' && tokens[i + 1]?.text !== '(')) {
      // ON CONFLICT DO UPDATE, and the row locks FOR [NO KEY] UPDATE, name no table.
      if (word === 'update' && ['do', 'for', 'key'].includes(tokens[i - 1]?.text)) continue;
      readItem(i + 1, word === 'into');
    } else if (word === 'from') {
      // extract(epoch from x), substring(x from n), trim(both from x), a is distinct from b: no table.
      if (
        tokens[i - 1]?.text === 'distinct' ||
        (tokens[i - 2]?.text === '(' && tokens[i - 1]?.kind === 'word' && tokens[i - 1]?.text !== 'select')
      )
        continue;
      let j = readItem(i + 1, false);
      while (tokens[j]?.text === ',') j = readItem(j + 1, false);
    }
  }
  return references.sort((a, b) => a.start - b.start);
}

const anchorPatterns = [
  /(?<![\w.])(?:[a-z_][a-z0-9_]*\.)?tenant_id = \$\d+/,
  /\$\d+ = (?:[a-z_][a-z0-9_]*\.)?tenant_id\b/,
];

/**
 * Whether the statement routes to one shard: it pins tenant_id to a parameter (`tenant_id = $n`, or an INSERT whose
 * column list has tenant_id), and every tenant table it names is tied to tenant_id: through its alias or name
 * (`x.tenant_id`) anywhere, or by a bare `tenant_id` between the reference and the next table the statement names
 * (its column list, its WHERE or its USING), or anywhere when it is the only table named.
 */
export function routingVerdict(text: string, isTenantTable: (table: string) => boolean): RoutingVerdict {
  const normalized = normalizeStatement(text);
  const references = tableReferences(normalized);
  const tenantReferences = references.filter(
    (r) => (r.schema === undefined || r.schema === 'public') && isTenantTable(r.table),
  );
  const problems: string[] = [];
  if (tenantReferences.length === 0) return { tenantTables: [], problems };
  const insertsTenantId = /\binsert into [a-z_.]+(?: as [a-z_]+)? \([^)]*\btenant_id\b/.test(normalized);
  if (!insertsTenantId && !anchorPatterns.some((p) => p.test(normalized)))
    problems.push('no tenant_id = $n: the statement is not pinned to one tenant');
  const bare = /(?<![\w.])tenant_id\b/;
  for (const reference of tenantReferences) {
    const name = reference.alias ?? reference.table;
    const qualified = new RegExp(`(?<![\\w.])${name}\\.tenant_id\\b`).test(normalized);
    const next = references.find((r) => r.start > reference.start);
    const scope =
      references.length === 1 ? normalized : normalized.slice(reference.end, next?.start ?? normalized.length);
    if (!qualified && !bare.test(scope))
      problems.push(`${reference.table}${reference.alias ? ` ${reference.alias}` : ''} is not tied to tenant_id`);
  }
  return { tenantTables: [...new Set(tenantReferences.map((r) => r.table))].sort(), problems };
}
