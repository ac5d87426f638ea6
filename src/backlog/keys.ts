/**
 * Orders ordering keys by their Unicode code points, shorter first when one
 * is a prefix of the other: the order LMDB keeps them in (it compares their
 * UTF-8 bytes, which sort the same way). JavaScript's `<` compares UTF-16
 * code units instead, which puts characters past U+FFFF before U+E000–U+FFFF.
 * Every store walks its keys in this order (`BacklogStore.keyAfter`).
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Only surrogates (0xD800–0xDFFF, the halves of a code point past U+FFFF)
    // sort apart from code point order: they belong above U+E000–U+FFFF.
    if (isSurrogate(x) !== isSurrogate(y) && Math.max(x, y) >= 0xe000) {
      return isSurrogate(x) ? 1 : -1;
    }
    return x - y;
  }
  return a.length - b.length;
}

function isSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdfff;
}
