/**
 * The known name a mistyped one most likely meant (`pollIntervalMS` → `pollIntervalMs`), or
 * undefined when none is close: a case-only difference, or at most two edits (insert, delete,
 * replace, swap of neighbours) for names long enough that two edits still leave them recognisable.
 */
export function closestName(typed: string, known: Iterable<string>): string | undefined {
  const lower = typed.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    if (name.toLowerCase() === lower) return name;
    const distance = editDistance(lower, name.toLowerCase());
    if (distance < bestDistance) {
      bestDistance = distance;
      best = name;
    }
  }
  const allowed = typed.length <= 4 ? 1 : 2;
  return bestDistance <= allowed ? best : undefined;
}

/** ` (did you mean "X"?)` for a message, or '' when nothing is close. */
export function didYouMean(typed: string, known: Iterable<string>): string {
  const name = closestName(typed, known);
  return name === undefined ? '' : ` (did you mean "${name}"?)`;
}

/** Optimal string alignment distance: Levenshtein plus the swap of two neighbours. */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** `unknown key` for a message about a nested key, with `; did you mean "PREFIX.X"?` when one is close. */
export function unknownKeyNote(prefix: string, typed: string, known: readonly string[]): string {
  const name = closestName(typed, known);
  return name === undefined ? 'unknown key' : `unknown key; did you mean "${prefix}.${name}"?`;
}
