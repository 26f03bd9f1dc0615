/** One problem in a config. */
export interface ConfigIssue {
  /** Where in the config, e.g. `mcpServers.files.args.0`. */
  path: string;
  /** What is wrong there, e.g. `command must not be empty`. */
  message: string;
}

/** Every problem found in a config at once, each by path, so one edit can fix them all. */
export class ConfigError extends Error {
  /** Always `'ConfigError'`. */
  override readonly name = 'ConfigError';
  /** Every problem found, each with its path; the message lists them too. */
  readonly issues: ConfigIssue[];

  constructor(source: string, issues: ConfigIssue[]) {
    super(`invalid config ${source}:\n${issues.map((issue) => `  - ${issue.path || '(root)'}: ${issue.message}`).join('\n')}`);
    this.issues = issues;
  }
}
