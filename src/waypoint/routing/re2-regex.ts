// Compiles route regexes the way Envoy/Istio run them: RE2 syntax (github.com/google/re2/wiki/Syntax),
// whole-string match. Translates RE2 to an equivalent JavaScript `u` RegExp and refuses what RE2 lacks.

import { MeshError } from '../../common/errors.js';

/** RE2 refuses counted repetitions above this (kMaxRepeat in re2/parse.cc). */
const RE2_MAX_REPEAT = 1000;

/** RE2 `\s` is ASCII whitespace only; JavaScript's `\s` also takes Unicode spaces. */
const RE2_SPACE = '\\t\\n\\f\\r ';

/** Start/end of text whatever the flags (RE2 `\A`, `\z`). */
const TEXT_START = '(?<![\\s\\S])';
const TEXT_END = '(?![\\s\\S])';

/** Characters that keep their backslash in a JavaScript `u` pattern (SyntaxCharacter plus '/'). */
const JS_SYNTAX = new Set('^$\\.*+?()[]{}|/');

/** RE2 ASCII classes `[[:name:]]` as JavaScript class ranges. */
const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7f',
  blank: '\\t ',
  cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`\\{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/**
 * Compiles a pattern as Envoy/Istio would use it (RE2 syntax, whole-string match: `^(?:p)$`; with
 * `search`, a global unanchored RegExp for replacing every match).
 * Throws MeshError CONFIG_INVALID naming the reason when the pattern is invalid or uses features
 * RE2 lacks (backreferences, lookaround, possessive quantifiers, atomic groups). Valid RE2 that
 * JavaScript cannot express without a rewrite we did not write (inline flags other than leading
 * `(?i)`/`(?s)`/`(?m)`, ungreedy `U`, `\C`, negated POSIX classes) is refused the same way.
 */
export function compileRegex(pattern: string, options: { readonly ignoreCase?: boolean; readonly search?: boolean } = {}): RegExp {
  const t = new Re2Translator(pattern).translate();
  let flags = 'u';
  if (options.ignoreCase === true || t.ignoreCase) flags += 'i';
  if (t.dotAll) flags += 's';
  if (t.multiLine) flags += 'm';
  // `search`: every match anywhere in the text (RE2 GlobalReplace, Envoy regex_rewrite), not anchored.
  if (options.search === true) flags += 'g';
  // With `m`, `^`/`$` mean line boundaries, so the whole-string anchors must be lookarounds.
  const source = options.search === true ? t.source : t.multiLine ? `${TEXT_START}(?:${t.source})${TEXT_END}` : `^(?:${t.source})$`;
  try {
    return new RegExp(source, flags);
  } catch (err) {
    throw invalid(pattern, (err as Error).message.replace(/^Invalid regular expression: /, ''), err);
  }
}

function invalid(pattern: string, reason: string, cause?: unknown): MeshError {
  return new MeshError('CONFIG_INVALID', `invalid regular expression ${JSON.stringify(pattern)}: ${reason}`, { cause });
}

interface Translation {
  readonly source: string;
  readonly ignoreCase: boolean;
  readonly dotAll: boolean;
  readonly multiLine: boolean;
}

/** One pass over the RE2 pattern; emits JavaScript syntax with the same meaning or throws. */
class Re2Translator {
  private pos = 0;
  private out = '';
  private ignoreCase = false;
  private dotAll = false;
  private multiLine = false;

  constructor(private readonly p: string) {}

  translate(): Translation {
    this.leadingFlags();
    while (this.pos < this.p.length) {
      const c = this.p[this.pos]!;
      switch (c) {
        case '\\':
          this.out += this.escape(false);
          break;
        case '[':
          this.charClass();
          break;
        case '(':
          this.group();
          break;
        case '{':
          if (!this.countedRepeat()) {
            this.out += '\\{';
            this.pos++;
          }
          break;
        case '}':
        case ']':
          // Literal in RE2 when not closing anything; a syntax error in a JavaScript `u` pattern.
          this.out += '\\' + c;
          this.pos++;
          break;
        case '*':
        case '+':
        case '?':
          this.out += c;
          this.pos++;
          this.afterQuantifier();
          break;
        default:
          this.out += c;
          this.pos++;
      }
    }
    return { source: this.out, ignoreCase: this.ignoreCase, dotAll: this.dotAll, multiLine: this.multiLine };
  }

  private fail(reason: string): never {
    throw invalid(this.p, reason);
  }

  /** `(?i)`, `(?s)`, `(?m)` (and combinations) at the very start become RegExp flags. */
  private leadingFlags(): void {
    for (;;) {
      const m = /^\(\?([a-zA-Z]+)\)/.exec(this.p.slice(this.pos));
      if (m === null) return;
      for (const f of m[1]!) {
        if (f === 'i') this.ignoreCase = true;
        else if (f === 's') this.dotAll = true;
        else if (f === 'm') this.multiLine = true;
        else if (f === 'U') this.fail('the ungreedy flag (?U) is not supported here');
        else this.fail(`invalid flag ${JSON.stringify(f)} in (?${m[1]})`);
      }
      this.pos += m[0].length;
    }
  }

  /** A lazy '?' may follow a quantifier; possessive '+' is Perl/PCRE only. */
  private afterQuantifier(): void {
    if (this.p[this.pos] === '?') {
      this.out += '?';
      this.pos++;
    }
    if (this.p[this.pos] === '+') this.fail('possessive quantifiers (*+ ++ ?+ {n}+) are not supported by RE2');
  }

  /** `{n}`, `{n,}`, `{n,m}` with RE2's limits; anything else after '{' is a literal brace. */
  private countedRepeat(): boolean {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.p.slice(this.pos));
    if (m === null) return false;
    const min = Number(m[1]);
    const max = m[3] === undefined ? min : m[3] === '' ? undefined : Number(m[3]);
    if (min > RE2_MAX_REPEAT || (max !== undefined && max > RE2_MAX_REPEAT)) {
      this.fail(`bad repetition operator ${m[0]}: RE2 allows at most ${RE2_MAX_REPEAT}`);
    }
    if (max !== undefined && max < min) this.fail(`bad repetition operator ${m[0]}: max below min`);
    this.out += m[0];
    this.pos += m[0].length;
    this.afterQuantifier();
    return true;
  }

  private group(): void {
    const rest = this.p.slice(this.pos);
    if (!rest.startsWith('(?')) {
      this.out += '(';
      this.pos++;
      return;
    }
    if (rest.startsWith('(?:')) return this.emit('(?:', 3);
    if (rest.startsWith('(?=') || rest.startsWith('(?!')) this.fail('lookahead (?= (?! is not supported by RE2');
    if (rest.startsWith('(?<=') || rest.startsWith('(?<!')) this.fail('lookbehind (?<= (?<! is not supported by RE2');
    if (rest.startsWith('(?>')) this.fail('atomic groups (?> are not supported by RE2');
    if (rest.startsWith('(?P=') || rest.startsWith('(?P>')) this.fail('backreferences and recursion (?P= (?P> are not supported by RE2');
    if (rest.startsWith('(?#')) this.fail('comments (?# are not supported by RE2');
    const named = /^\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
    if (named !== null) return this.emit(`(?<${named[1]}>`, named[0].length);
    if (/^\(\?[imsU-]+[:)]/.test(rest)) {
      this.fail('inline flags are only supported at the start of the pattern, as (?i), (?s) or (?m)');
    }
    this.fail(`invalid or unsupported group ${JSON.stringify(rest.slice(0, 4))}`);
  }

  private emit(js: string, consumed: number): void {
    this.out += js;
    this.pos += consumed;
  }

  /** Bracket expression; RE2 takes a leading ']' (after optional '^') literally. */
  private charClass(): void {
    this.pos++;
    let cls = '[';
    if (this.p[this.pos] === '^') {
      cls += '^';
      this.pos++;
    }
    let first = true;
    for (;;) {
      if (this.pos >= this.p.length) this.fail('missing closing ]');
      const c = this.p[this.pos]!;
      if (c === ']' && !first) break;
      first = false;
      if (c === ']') {
        cls += '\\]';
        this.pos++;
      } else if (c === '[' && this.p[this.pos + 1] === ':') {
        cls += this.posixClass();
      } else if (c === '[') {
        cls += '\\[';
        this.pos++;
      } else if (c === '\\') {
        cls += this.escape(true);
      } else {
        cls += c;
        this.pos++;
      }
    }
    this.pos++;
    this.out += cls + ']';
  }

  private posixClass(): string {
    const m = /^\[:(\^?)([a-z]+):\]/.exec(this.p.slice(this.pos));
    if (m === null) {
      this.pos++;
      return '\\[';
    }
    const ranges = POSIX_CLASSES[m[2]!];
    if (ranges === undefined) this.fail(`invalid character class range [:${m[2]}:]`);
    if (m[1] === '^') this.fail(`negated POSIX class [:^${m[2]}:] is not supported here`);
    this.pos += m[0].length;
    return ranges;
  }

  /** `\` + what follows, as JavaScript source; `inClass` inside a bracket expression. */
  private escape(inClass: boolean): string {
    const d = this.p[this.pos + 1];
    if (d === undefined) this.fail('trailing backslash at end of expression');
    this.pos += 2;
    if (d >= '0' && d <= '9') return this.octalOrBackref(d);
    switch (d) {
      case 'd':
      case 'D':
      case 'w':
      case 'W':
      case 'f':
      case 'n':
      case 'r':
      case 't':
      case 'v':
        return '\\' + d;
      case 'b':
      case 'B':
        if (inClass) this.fail(`invalid escape \\${d} inside a character class`);
        return '\\' + d;
      case 's':
        return inClass ? RE2_SPACE : `[${RE2_SPACE}]`;
      case 'S':
        // Inside a class no negated ASCII set can be spelled; JavaScript's \S is the closest.
        return inClass ? '\\S' : `[^${RE2_SPACE}]`;
      case 'a':
        return '\\x07';
      case 'A':
      case 'z':
        if (inClass) this.fail(`invalid escape \\${d} inside a character class`);
        return d === 'A' ? TEXT_START : TEXT_END;
      case 'x':
        return this.hexEscape();
      case 'p':
      case 'P':
        return this.unicodeClass(d);
      case 'Q':
        return this.quoted(inClass);
      case 'k':
        return this.fail('named backreferences \\k are not supported by RE2');
      case 'C':
        return this.fail('\\C (any byte) is not supported here');
    }
    const code = d.charCodeAt(0);
    if (code < 0x80 && !/[A-Za-z0-9]/.test(d)) return literal(d, inClass);
    return this.fail(`invalid escape sequence \\${d}`);
  }

  /** RE2: `\0`, `\1[0-7]`.. are octal (up to 3 digits); a lone `\1`-`\9` is a backreference. */
  private octalOrBackref(d: string): string {
    const next = this.p[this.pos];
    const isOct = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '7';
    if (d !== '0' && !(d <= '7' && isOct(next))) {
      this.fail(`backreferences (\\${d}) are not supported by RE2`);
    }
    let digits = d;
    while (digits.length < 3 && isOct(this.p[this.pos])) digits += this.p[this.pos++];
    return `\\u{${parseInt(digits, 8).toString(16)}}`;
  }

  /** `\xHH` or `\x{H...}` (up to U+10FFFF). */
  private hexEscape(): string {
    const rest = this.p.slice(this.pos);
    const braced = /^\{([0-9A-Fa-f]{1,8})\}/.exec(rest);
    const plain = /^[0-9A-Fa-f]{2}/.exec(rest);
    const hex = braced !== null ? braced[1]! : plain !== null ? plain[0] : undefined;
    if (hex === undefined) return this.fail('invalid escape sequence \\x');
    if (parseInt(hex, 16) > 0x10ffff) this.fail(`invalid escape sequence \\x{${hex}}: beyond U+10FFFF`);
    this.pos += braced !== null ? braced[0].length : 2;
    return `\\u{${hex}}`;
  }

  /** `\pL`, `\p{Lu}`, `\p{Greek}`, `\p{^Greek}`: general categories as is, scripts as Script=. */
  private unicodeClass(d: 'p' | 'P'): string {
    const rest = this.p.slice(this.pos);
    const m = /^(?:([A-Za-z])|\{(\^?)([A-Za-z_]+)\})/.exec(rest);
    if (m === null) return this.fail(`invalid character class range \\${d}${rest.slice(0, 3)}`);
    this.pos += m[0].length;
    const name = m[1] ?? m[3]!;
    const negated = (d === 'P') !== (m[2] === '^');
    const isCategory = /^[A-Z][a-z]?$/.test(name) || name === 'Any';
    return `\\${negated ? 'P' : 'p'}{${isCategory ? name : `Script=${name}`}}`;
  }

  /** `\Q...\E`: everything up to `\E` (or the end) is literal. */
  private quoted(inClass: boolean): string {
    let end = this.p.indexOf('\\E', this.pos);
    if (end < 0) end = this.p.length;
    let js = '';
    for (const ch of this.p.slice(this.pos, end)) js += literal(ch, inClass);
    this.pos = Math.min(this.p.length, end + 2);
    return js;
  }
}

/** One literal character as JavaScript `u` pattern source. */
function literal(ch: string, inClass: boolean): string {
  if (JS_SYNTAX.has(ch) || (inClass && ch === '-')) return '\\' + ch;
  const code = ch.codePointAt(0)!;
  if (code < 0x80 && !/[A-Za-z0-9_]/.test(ch)) return `\\x${code.toString(16).padStart(2, '0')}`;
  return ch;
}
