// A draft edited in place by path: the editor's inputs each own one dotted path, the compiler and the server
// name problems by the same paths, so a message lands at its field.
export type Path = (string | number)[];

export function getAt(value: unknown, path: Path): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/** A copy of `root` with `value` at `path` (undefined removes the key); missing containers are created. */
export function setAt<T>(root: T, path: Path, value: unknown): T {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let current: Record<string | number, unknown> = copy;
  path.slice(0, -1).forEach((key, index) => {
    const next = current[key];
    if (next === null || typeof next !== 'object') current[key] = typeof path[index + 1] === 'number' ? [] : {};
    current = current[key] as Record<string | number, unknown>;
  });
  const last = path.at(-1)!;
  if (value === undefined) {
    if (Array.isArray(current) && typeof last === 'number') current.splice(last, 1);
    else delete current[last];
  } else current[last] = value;
  return copy as T;
}

export const pathKey = (path: Path) => path.join('.');

/** Problems by path; a problem also shows at each enclosing path the editor renders (its row). */
export function problemsByPath(problems: { path: string; message: string }[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const problem of problems) map.set(problem.path, [...(map.get(problem.path) ?? []), problem.message]);
  return map;
}

/** The compiler writes `versions[1].rate_cards[0]`, the server `version.rate_cards.0`: one dotted form for both. */
export const dottedPath = (path: string) => path.replace(/\[(\d+)\]/g, '.$1');
