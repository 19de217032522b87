import { readRepoFile } from './repo';

/** .dockerignore rules as Docker applies them: last match wins, `!` re-includes, `**` spans directories. */
export function loadDockerignore(path = '.dockerignore'): (file: string) => boolean {
  const rules = readRepoFile(path)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const pattern = (negate ? line.slice(1) : line).replace(/^\/+|\/+$/g, '');
      const regex = pattern
        .split('/')
        .map((part) =>
          part === '**'
            ? '.*'
            : part
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/\.\*\//g, '(?:.*/)?');
      return { negate, regex: new RegExp(`^${regex}(?:/.*)?$`) };
    });
  /** Whether `file` (relative to the context) is left out of the build context. */
  return (file: string) => rules.reduce((excluded, rule) => (rule.regex.test(file) ? !rule.negate : excluded), false);
}
