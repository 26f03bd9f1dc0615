import { readFileSync } from 'node:fs';

/** One line of an env file that is not `KEY=VALUE`. */
interface EnvFileProblem {
  line: number;
  message: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };

/**
 * Parses the dotenv format MCP clients read (`envFile` in Cursor and VS Code): one `KEY=VALUE`
 * per line, an optional `export ` before the key, blank lines and `#` comments skipped. A value
 * may be quoted: `'…'` is taken as written, `"…"` understands `\n`, `\t`, `\"` and `\\`; an
 * unquoted value ends at a ` #` comment and is trimmed. Values are not `${VAR}`-expanded.
 */
export function parseEnvFile(text: string): { values: Map<string, string>; problems: EnvFileProblem[] } {
  const values = new Map<string, string>();
  const problems: EnvFileProblem[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const assignment = line.startsWith('export ') ? line.slice('export '.length).trimStart() : line;
    const equals = assignment.indexOf('=');
    const key = equals < 0 ? assignment : assignment.slice(0, equals).trim();
    if (equals < 0 || !NAME.test(key)) {
      problems.push({ line: index + 1, message: 'expected KEY=VALUE' });
      return;
    }
    const value = valueOf(assignment.slice(equals + 1).trim());
    if (value === undefined) problems.push({ line: index + 1, message: `unterminated quoted value of ${key}` });
    else values.set(key, value);
  });
  return { values, problems };
}

function valueOf(text: string): string | undefined {
  const quote = text[0];
  if (quote === "'") {
    const end = text.indexOf("'", 1);
    return end < 0 ? undefined : text.slice(1, end);
  }
  if (quote === '"') {
    let value = '';
    for (let index = 1; index < text.length; index++) {
      const char = text[index] as string;
      if (char === '"') return value;
      if (char === '\\' && index + 1 < text.length) {
        const next = text[++index] as string;
        value += ESCAPES[next] ?? `\\${next}`;
      } else value += char;
    }
    return undefined;
  }
  const comment = /\s#/.exec(text);
  return (comment ? text.slice(0, comment.index) : text).trim();
}

/** Reads and parses an env file; throws the read error (ENOENT, EACCES) as it comes. */
export function readEnvFile(path: string): ReturnType<typeof parseEnvFile> {
  return parseEnvFile(readFileSync(path, 'utf8'));
}
