/**
 * Refusing option names that no part of the library reads. A misspelt option
 * (`maxQueu`, `failureTreshold`) would otherwise be silently ignored and its
 * default used instead; TypeScript catches it only in an object literal.
 */

/**
 * Edit distance between `a` and `b`, counting a swap of two neighbours as one
 * edit (optimal string alignment), so `failrueThreshold` is one edit away.
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const above = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        (above[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (above[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row.push(best);
    }
    rows.push(row);
  }
  return (rows[a.length] as number[])[b.length] as number;
}

/**
 * The known name closest to `name`, if it is close enough to be a slip,
 * ignoring case: at most a third of the name's length in edits (at least 1),
 * or one name starting with the other (`windowSize` for `window`).
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const wanted = name.toLowerCase();
  const limit = Math.max(1, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const lower = candidate.toLowerCase();
    let distance = editDistance(wanted, lower);
    if (distance > limit && sharesPrefix(wanted, lower)) distance = limit;
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** Whether one name begins with the other, the shorter being long enough to mean something. */
function sharesPrefix(a: string, b: string): boolean {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  return short.length >= 4 && long.startsWith(short);
}

/**
 * Throws a `TypeError` naming every own key of `options` that is not in
 * `known`, each with the closest known name when one is near, and the list of
 * known names.
 *
 * @param owner what the options belong to, as every message of the library starts (`SyncWorker: breaker`).
 * @param noun what a key is called in the message: `option`, or `field` for a task.
 */
export function refuseUnknownOptions(
  owner: string,
  options: object,
  known: readonly string[],
  noun = 'option',
): void {
  const unknown = Object.keys(options).filter((name) => !known.includes(name));
  if (unknown.length === 0) return;
  const described = unknown.map((name) => {
    const near = closestName(name, known);
    return near === undefined ? `"${name}"` : `"${name}" (did you mean "${near}"?)`;
  });
  const what = unknown.length === 1 ? `an unknown ${noun}` : `unknown ${noun}s`;
  const list = known.length === 0 ? `it takes no ${noun}s` : `known: ${known.join(', ')}`;
  throw new TypeError(`${owner}: ${what} ${described.join(', ')}; ${list}`);
}

/**
 * The option names of `Options`, checked by the compiler to be all of them:
 * an option added to the interface but not to its list fails to compile,
 * naming the missing key, so the runtime check never refuses a real option.
 *
 * @example const NAMES = optionNames<CircuitBreakerOptions>()(['failureThreshold', …]);
 */
export function optionNames<Options>() {
  return <const Names extends readonly (keyof Options & string)[]>(
    names: Names &
      ([Exclude<keyof Options, Names[number]>] extends [never]
        ? unknown
        : { missing: Exclude<keyof Options, Names[number]> }),
  ): readonly string[] => names;
}
