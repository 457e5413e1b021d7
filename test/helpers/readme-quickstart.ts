// The README's "Quick start" as data for the test that runs it: its shell commands in order, and the
// Debian packages of its apt-get line next to the list CI installs (`apt_packages` in .ci/run).

export interface QuickStartCommand {
  /** The line as written in the README (trailing comment included): what a user pastes. */
  readonly line: string;
  /** The line without a trailing ` # comment`, trimmed: what the test recognizes commands by. */
  readonly command: string;
  /** Index of its code block within the section (0-based). */
  readonly block: number;
}

/** The text from the `## Quick start` heading up to the next heading (`##` or `###`). */
export function quickStartSection(readme: string): string {
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => l.trim() === '## Quick start');
  if (start < 0) throw new Error('README.md has no "## Quick start" heading');
  let end = start + 1;
  let fenced = false;
  for (; end < lines.length; end++) {
    const l = lines[end]!;
    if (l.startsWith('```')) fenced = !fenced;
    else if (!fenced && /^#{2,3} /.test(l)) break;
  }
  return lines.slice(start, end).join('\n');
}

/** Every non-blank, non-comment line of the section's ```sh / ```bash code blocks, in order. */
export function quickStartCommands(readme: string): QuickStartCommand[] {
  const out: QuickStartCommand[] = [];
  let block = -1;
  let inShell = false;
  let inOther = false;
  for (const raw of quickStartSection(readme).split('\n')) {
    const fence = /^```\s*(\S*)\s*$/.exec(raw);
    if (fence) {
      if (inShell || inOther) {
        inShell = inOther = false;
      } else if (fence[1] === 'sh' || fence[1] === 'bash' || fence[1] === 'shell') {
        inShell = true;
        block++;
      } else {
        inOther = true;
      }
      continue;
    }
    if (!inShell) continue;
    const line = raw.trimEnd();
    const command = line.replace(/(^|\s)#\s.*$/, '').trim();
    if (command === '') continue;
    out.push({ line, command, block });
  }
  return out;
}

/** The package names of an `apt-get install` command line (options such as `-y` left out). */
export function aptInstallPackages(command: string): string[] {
  const m = /\bapt-get\s+install\s+(.*)$/.exec(command);
  if (!m) throw new Error(`not an apt-get install command: ${command}`);
  const words = m[1]!.split('&&')[0]!.trim().split(/\s+/);
  return words.filter((w) => w !== '' && !w.startsWith('-'));
}

/** The `apt_packages=(...)` array of CI's `.ci/run`. */
export function ciAptPackages(ciScript: string): string[] {
  const m = /^apt_packages=\(([^)]*)\)/m.exec(ciScript);
  if (!m) throw new Error('.ci/run has no apt_packages=(...) line');
  return m[1]!.trim().split(/\s+/);
}
