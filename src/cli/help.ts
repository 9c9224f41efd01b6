// Help texts, built from the command table.
import type { Command } from './command.js';
import { DEFAULT_CONFIG_FILE } from './config-file.js';

const GLOBAL_OPTIONS = `Options:
  --config FILE  Configuration file (default: $SWITCHBOARD_CONFIG, else ${DEFAULT_CONFIG_FILE})
  -h, --help     Show help`;

/** Usage of every command, or of those of one group (`user`). */
export function usage(commands: Command[], group?: string): string {
  const shown = group === undefined ? commands : commands.filter((c) => c.name.startsWith(`${group} `));
  const lines = shown.map((c) => [join(c.name, c.args, c.options ? '[options]' : ''), c.summary] as const);
  const width = Math.max(...lines.map(([left]) => left.length));
  return [
    `Usage: switchboard ${group === undefined ? '' : `${group} `}<command> [options]`,
    '',
    'Commands:',
    ...lines.map(([left, summary]) => `  ${left.padEnd(width)}  ${summary}`),
    '',
    GLOBAL_OPTIONS,
    '',
    'Run "switchboard help <command>" for the details of a command.',
  ].join('\n');
}

export function commandHelp(command: Command): string {
  return [
    usageLine(command),
    '',
    `${command.summary}.`,
    ...(command.details ? ['', command.details] : []),
    '',
    GLOBAL_OPTIONS,
  ].join('\n');
}

/** What to show after a mistake on a command's line. */
export function shortUsage(command: Command): string {
  return `${usageLine(command)}\nRun "switchboard help ${command.name}" for details.`;
}

function usageLine(command: Command): string {
  return `Usage: switchboard ${join(command.name, command.args, optionsSynopsis(command), '[--config FILE]')}`;
}

function optionsSynopsis(command: Command): string {
  const options = Object.entries(command.options ?? {});
  return options.map(([name, { value, multiple }]) => `[--${name} ${value}]${multiple ? '...' : ''}`).join(' ');
}

const join = (...parts: string[]): string => parts.filter(Boolean).join(' ');
