/**
 * Refuses fields of an options object that are not in `known`: a misspelt
 * threshold would otherwise be ignored, and the default would silently apply.
 *
 * @param owner who checks, for the message (`SyncWorker: health`, `instrument`)
 * @throws TypeError naming every unknown field and the known ones.
 */
export function onlyKnownFields(owner: string, value: object, known: readonly string[]): void {
  const unknown = Object.keys(value).filter((field) => !known.includes(field));
  if (unknown.length === 0) return;
  const names = unknown.map((field) => JSON.stringify(field)).join(', ');
  throw new TypeError(`${owner}: unknown option ${names}; known: ${known.join(', ')}`);
}
