// Deep-freezes validated configuration so no component can change it after loading (fastify style).
// Maps and Sets are frozen too: their mutators are replaced by functions that throw.

function refuse(): never {
  throw new TypeError('cannot modify frozen configuration');
}

/** Freezes `value` and everything reachable from it; returns `value` for chaining. */
export function deepFreeze<T>(value: T): T {
  const seen = new Set<object>();
  const visit = (v: unknown): void => {
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return;
    const obj = v as object;
    if (seen.has(obj) || Object.isFrozen(obj)) return;
    seen.add(obj);
    if (obj instanceof Map) {
      for (const [k, val] of obj) {
        visit(k);
        visit(val);
      }
      for (const m of ['set', 'delete', 'clear']) Object.defineProperty(obj, m, { value: refuse });
    } else if (obj instanceof Set) {
      for (const val of obj) visit(val);
      for (const m of ['add', 'delete', 'clear']) Object.defineProperty(obj, m, { value: refuse });
    }
    for (const key of Reflect.ownKeys(obj)) {
      visit((obj as Record<string | symbol, unknown>)[key]);
    }
    Object.freeze(obj);
  };
  visit(value);
  return value;
}
