// Every command of the CLI.
import { check } from './check.js';
import type { Command } from './command.js';
import { groupDelete, groupList, groupSet } from './group.js';
import { notifyReset, notifySet, notifyShow } from './notify.js';
import { queueDead, queueDiscard, queueRetry, queueStatus } from './queue.js';
import { rosterAdd, rosterList } from './roster.js';
import { start } from './start.js';
import { status } from './status.js';
import { userAdd, userDelete, userList, userPasswd } from './user.js';

const RUNNING_OR_NOT =
  'Talks to the running hub over its admin socket; with the hub stopped, opens its database directly.';
const QUEUE_RUNNING_OR_NOT =
  'Talks to the running hub over its admin socket; with the hub stopped, opens the delivery queue directly.';

export const commands: Command[] = [
  {
    name: 'start',
    args: '',
    summary: 'Run the hub in the foreground',
    details:
      'Loads and checks the configuration, ensures certificates, starts the hub and opens the admin socket.\n' +
      'SIGTERM or SIGINT stops it cleanly (clients get <system-shutdown/>, the database is flushed)\n' +
      'and it exits 0; a second signal exits at once.',
    run: (input) => start(input.configFile),
  },
  {
    name: 'check',
    args: '',
    summary: 'Check the configuration, certificates, ports and DNS records',
    details: 'Exits 0 when there are no errors (warnings allowed), 1 otherwise.',
    run: (input) => check(input.configFile),
  },
  {
    name: 'user add',
    args: '<jid>',
    summary: 'Create an account',
    details: `Without --password, the password is read from the first line of standard input.\n${RUNNING_OR_NOT}`,
    options: { password: { value: 'P' } },
    run: userAdd,
  },
  {
    name: 'user delete',
    args: '<jid>',
    summary: 'Delete an account and all its data; its sessions are closed',
    details: RUNNING_OR_NOT,
    run: userDelete,
  },
  {
    name: 'user passwd',
    args: '<jid>',
    summary: 'Change the password of an account',
    details: `Without --password, the password is read from the first line of standard input.\n${RUNNING_OR_NOT}`,
    options: { password: { value: 'P' } },
    run: userPasswd,
  },
  {
    name: 'user list',
    args: '[<domain>]',
    summary: 'List the accounts of one host, or of all',
    details: RUNNING_OR_NOT,
    run: userList,
  },
  {
    name: 'roster list',
    args: '<jid>',
    summary: "Show a user's contacts",
    details: RUNNING_OR_NOT,
    run: rosterList,
  },
  {
    name: 'roster add',
    args: '<jid> <contact-jid>',
    summary: "Add or replace a contact in a user's roster",
    details:
      'The subscription defaults to none. On a running hub the user\'s online clients get the change\n' +
      `at once (roster push). ${RUNNING_OR_NOT}`,
    options: {
      name: { value: 'N' },
      group: { value: 'G', multiple: true },
      subscription: { value: 'both|to|from|none' },
    },
    run: rosterAdd,
  },
  {
    name: 'group list',
    args: '[<domain>]',
    summary: 'List the shared roster groups of one host, or of all',
    details: `Groups of the configuration file and of the group commands; LDAP groups are read from LDAP.\n${RUNNING_OR_NOT}`,
    run: groupList,
  },
  {
    name: 'group set',
    args: '<domain> <name>',
    summary: 'Create or replace a shared roster group',
    details:
      'Members (--member, repeated) are usernames of the host, bare JIDs or @all@ (every user of the host);\n' +
      'the group\'s members see those of the --display groups (default: the group itself).\n' +
      'On a running hub online members get the change at once (roster pushes, presence).\n' +
      `Groups of the configuration file are changed there. ${RUNNING_OR_NOT}`,
    options: {
      member: { value: 'M', multiple: true },
      display: { value: 'G', multiple: true },
      description: { value: 'D' },
    },
    run: groupSet,
  },
  {
    name: 'group delete',
    args: '<domain> <name>',
    summary: 'Delete a shared roster group made with group set',
    details: RUNNING_OR_NOT,
    run: groupDelete,
  },
  {
    name: 'notify show',
    args: '<jid>',
    summary: "Show a user's notification settings",
    details: `The effective values: the user's own, else the host's (notifications in the configuration).\n${RUNNING_OR_NOT}`,
    run: notifyShow,
  },
  {
    name: 'notify set',
    args: '<jid>',
    summary: "Change a user's notification settings",
    details:
      'Changes the settings given, as the user does with the ad-hoc command "Notification settings":\n' +
      'the channel for chats that arrive offline, the address used when the directory has none\n' +
      '(--email "" removes it), the mobile number for SMS notifications (--mobile), which arriving mail is announced, and the senders of the "listed"\n' +
      `rule (--mail-sender, repeated: an address or @domain; --mail-sender "" empties the list).\n${RUNNING_OR_NOT}`,
    options: {
      offline: { value: 'none|email|sms|both' },
      email: { value: 'ADDRESS' },
      mobile: { value: 'NUMBER' },
      'mail-arrival': { value: 'all|contacts|listed|none' },
      'mail-sender': { value: 'S', multiple: true },
    },
    run: notifySet,
  },
  {
    name: 'notify reset',
    args: '<jid>',
    summary: "Forget a user's notification settings: the host's apply",
    details: RUNNING_OR_NOT,
    run: notifyReset,
  },
  // Before `queue`, which would otherwise take their words for arguments.
  {
    name: 'queue dead',
    args: '[<destination>]',
    summary: 'List the dead letters of the delivery queue',
    details: `Jobs that failed every attempt (or permanently), oldest first: id, attempts, last failure.\n${QUEUE_RUNNING_OR_NOT}`,
    run: queueDead,
  },
  {
    name: 'queue retry',
    args: '<destination> <id>',
    summary: 'Run a dead letter again, with fresh attempts',
    details: QUEUE_RUNNING_OR_NOT,
    run: queueRetry,
  },
  {
    name: 'queue discard',
    args: '<destination> <id>',
    summary: 'Delete a dead letter',
    details: QUEUE_RUNNING_OR_NOT,
    run: queueDiscard,
  },
  {
    name: 'queue',
    args: '',
    summary: 'Show the delivery queue of the gateways per destination',
    details:
      'Jobs waiting, delayed (retries), active and dead, the age of the oldest one not done and the\n' +
      'failures since the hub started. See also queue dead, queue retry and queue discard.\n' +
      QUEUE_RUNNING_OR_NOT,
    run: queueStatus,
  },
  {
    name: 'status',
    args: '',
    summary: 'Show the sessions online and the ports of the running hub',
    details: 'Exits 1 when the hub is not running.',
    run: status,
  },
];
