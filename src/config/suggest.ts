/** Edit distance (insertions, deletions, substitutions) between two short strings. */
function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The known key closest to `key` within an edit distance of 2 (case ignored), if any. */
export function closest(key: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = levenshtein(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** `unknown key 'comand' (did you mean 'command'?)`, the suggestion only when one is close. */
export function unknownKeyMessage(key: string, known: Iterable<string>): string {
  const suggestion = closest(key, known);
  return suggestion === undefined ? `unknown key '${key}'` : `unknown key '${key}' (did you mean '${suggestion}'?)`;
}
