// From argv to the command to run (or the help to show).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Command, CommandInput } from './command.js';
import { commands } from './commands.js';
import { configFile } from './config-file.js';
import { UsageError } from './errors.js';
import { commandHelp, shortUsage, usage } from './help.js';

export type Invocation = { help: string } | { command: Command; input: CommandInput };

const HELP = ['-h', '--help'];

/** Options may come before the command's words (`--config FILE user list`) or after them. */
export function parseCommandLine(argv: string[]): Invocation {
  const rest = [...argv];
  const leading: string[] = [];
  while (rest[0]?.startsWith('-')) {
    const arg = rest.shift()!;
    leading.push(arg);
    if (arg === '--config' && rest.length > 0) leading.push(rest.shift()!);
  }
  if (rest[0] === 'help') return { help: helpFor(rest.slice(1)) };

  const command = commands.find((c) => c.name.split(' ').every((word, i) => rest[i] === word));
  if (!command) {
    const wantsHelp = [...leading, ...rest].some((arg) => HELP.includes(arg));
    if (rest.length === 0) {
      if (wantsHelp) return { help: usage(commands) };
      throw new UsageError('missing command', usage(commands));
    }
    const group = isGroup(rest[0]!) ? rest[0]! : undefined;
    if (group === undefined) throw new UsageError(`unknown command "${rest[0]}"`, usage(commands));
    if (rest[1] === undefined || rest[1].startsWith('-')) {
      if (wantsHelp) return { help: usage(commands, group) };
      throw new UsageError(`missing ${group} command`, usage(commands, group));
    }
    throw new UsageError(`unknown command "${group} ${rest[1]}"`, usage(commands, group));
  }

  const words = command.name.split(' ').length;
  const { values, positionals } = parseOptions(command, [...leading, ...rest.slice(words)]);
  if (values.help) return { help: commandHelp(command) };
  const expected = command.args.split(' ').filter(Boolean);
  const required = expected.filter((arg) => arg.startsWith('<'));
  if (positionals.length < required.length) {
    throw new UsageError(`missing argument ${required[positionals.length]}`, shortUsage(command));
  }
  if (positionals.length > expected.length) {
    throw new UsageError(`unexpected argument "${positionals[expected.length]}"`, shortUsage(command));
  }
  return {
    command,
    input: {
      args: positionals,
      configFile: configFile(values.config as string | undefined),
      option: (name) => values[name] as string | undefined,
      list: (name) => (values[name] as string[] | undefined) ?? [],
    },
  };
}

function parseOptions(command: Command, args: string[]) {
  const options: NonNullable<ParseArgsConfig['options']> = {
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, { multiple }] of Object.entries(command.options ?? {})) {
    options[name] = { type: 'string', multiple: multiple === true };
  }
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw new UsageError(`unknown option ${/'([^']+)'/.exec(message)?.[1] ?? ''}`, shortUsage(command));
    }
    if (code?.startsWith('ERR_PARSE_ARGS_')) throw new UsageError(message, shortUsage(command));
    throw err;
  }
}

function helpFor(topic: string[]): string {
  if (topic.length === 0) return usage(commands);
  const name = topic.join(' ');
  const command = commands.find((c) => c.name === name);
  if (command) return commandHelp(command);
  if (topic.length === 1 && isGroup(name)) return usage(commands, name);
  throw new UsageError(`unknown command "${name}"`, usage(commands));
}

function isGroup(word: string): boolean {
  return commands.some((c) => c.name.startsWith(`${word} `));
}
