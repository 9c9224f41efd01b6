// The shape of a CLI command.

export interface CommandInput {
  /** Positional arguments after the command's name. */
  args: string[];
  configFile: string;
  option(name: string): string | undefined;
  /** A repeatable option, in the order given. */
  list(name: string): string[];
}

export interface Command {
  /** The words that select it, e.g. "user add". */
  name: string;
  /** Positional arguments, e.g. "<jid> [<domain>]": the <required> ones, then the [<optional>] ones. */
  args: string;
  summary: string;
  /** More help, shown by `switchboard help <command>`. */
  details?: string;
  /** Options besides --config and --help, by name; each takes a value, shown as `value`. */
  options?: Record<string, { value: string; multiple?: boolean }>;
  run(input: CommandInput): Promise<number>;
}
