// NATS subject patterns: "*" matches one token, ">" (last) one or more.

/** Whether `pattern` is a well-formed subject or subject pattern. */
export function isSubjectPattern(pattern: string): boolean {
  if (typeof pattern !== 'string' || pattern === '') return false;
  const tokens = pattern.split('.');
  return tokens.every((t, i) => /^[\x21-\x7e]+$/.test(t) && (t === '>' ? i === tokens.length - 1 : !t.includes('>')) && (t === '*' || !t.includes('*')));
}

/** Whether the literal `subject` matches `pattern`. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const t = p[i];
    if (t === '>') return s.length > i;
    if (i >= s.length) return false;
    if (t !== '*' && t !== s[i]) return false;
  }
  return p.length === s.length;
}
