export interface ConfigIssue {
  /** Where in the config, e.g. `mcpServers.files.args.0`. */
  path: string;
  message: string;
}

/** Every problem found in a config at once, each by path, so one edit can fix them all. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: ConfigIssue[];

  constructor(source: string, issues: ConfigIssue[]) {
    super(`invalid config ${source}:\n${issues.map((issue) => `  - ${issue.path || '(root)'}: ${issue.message}`).join('\n')}`);
    this.issues = issues;
  }
}
