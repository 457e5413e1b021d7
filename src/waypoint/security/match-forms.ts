// Istio's string match forms (istiod `stringToMatch`): `abc` exact, `abc*` prefix, `*abc` suffix,
// `*` presence (any non-empty value), compiled once into predicates.

export type StringPredicate = (value: string) => boolean;

/**
 * A predicate for one match form. `ignoreCase` lower-cases both sides (Istio's host matching is
 * case-insensitive). Only a leading or trailing `*` is special; `a*b` is the exact string `a*b`.
 */
export function matchForm(form: string, ignoreCase = false): StringPredicate {
  const f = ignoreCase ? form.toLowerCase() : form;
  const norm = ignoreCase ? (v: string): string => v.toLowerCase() : (v: string): string => v;
  if (f === '*') return (v) => v !== '';
  if (f.startsWith('*')) {
    const suffix = f.slice(1);
    return (v) => norm(v).endsWith(suffix);
  }
  if (f.endsWith('*')) {
    const prefix = f.slice(0, -1);
    return (v) => norm(v).startsWith(prefix);
  }
  return (v) => norm(v) === f;
}

/** Any of the forms matches; an empty list is undefined (the field is not set). */
export function anyForm(forms: readonly string[] | undefined, ignoreCase = false): StringPredicate | undefined {
  if (forms === undefined || forms.length === 0) return undefined;
  const ps = forms.map((f) => matchForm(f, ignoreCase));
  return ps.length === 1 ? ps[0] : (v) => ps.some((p) => p(v));
}
