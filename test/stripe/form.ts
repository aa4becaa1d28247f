// Stripe's v1 wire format for parameters: `application/x-www-form-urlencoded` bodies (and query strings for GET and
// DELETE) with nested keys in brackets, `a[b][c]=v`, and arrays by index, `a[0]=v`; every value is a string.

export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormParams = { [key: string]: FormValue };

/** Decodes a form body or query string into nested params, arrays where every key of a level is an index. */
export function decodeForm(text: string): FormParams {
  const root: FormParams = {};
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const rawKey = equals === -1 ? pair : pair.slice(0, equals);
    const rawValue = equals === -1 ? '' : pair.slice(equals + 1);
    const key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
    const value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    assignPath(root, splitKey(key), value);
  }
  return arraysFromIndexedObjects(root) as FormParams;
}

/** `a[b][0]` -> ['a', 'b', '0']; `a[]` (the form some clients use for arrays) gets the next free index later. */
function splitKey(key: string): string[] {
  const open = key.indexOf('[');
  if (open === -1) return [key];
  const path = [key.slice(0, open)];
  for (const match of key.slice(open).matchAll(/\[([^\]]*)\]/g)) path.push(match[1]!);
  return path;
}

function assignPath(root: FormParams, path: string[], value: string): void {
  let level: { [key: string]: FormValue } = root;
  path.forEach((segment, index) => {
    const last = index === path.length - 1;
    const key = segment === '' ? String(Object.keys(level).length) : segment;
    if (last) {
      level[key] = value;
      return;
    }
    const next = level[key];
    if (typeof next !== 'object' || next === null) level[key] = {};
    level = level[key] as { [key: string]: FormValue };
  });
}

function arraysFromIndexedObjects(value: FormValue): FormValue {
  if (typeof value === 'string' || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  const converted: { [key: string]: FormValue } = {};
  for (const key of keys) converted[key] = arraysFromIndexedObjects(value[key]!);
  const indexed = keys.length > 0 && keys.every((key) => /^\d+$/.test(key));
  if (!indexed) return converted;
  return keys
    .map(Number)
    .sort((left, right) => left - right)
    .map((index) => converted[String(index)]!);
}

/** The params in a canonical form (keys sorted at every level), to compare two requests' params. */
export function canonicalParams(params: FormValue): string {
  if (typeof params === 'string') return JSON.stringify(params);
  if (Array.isArray(params)) return `[${params.map(canonicalParams).join(',')}]`;
  return `{${Object.keys(params)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalParams(params[key]!)}`)
    .join(',')}}`;
}
