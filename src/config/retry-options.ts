// The retry options of a gateway's deliveries (smtp.retry, sms.retry), declared once: the
// delivery queue retries every gateway the same way, only the defaults and the thing retried differ.

export interface RetryConfig {
  attempts: number;
  initial_delay: number;
  max_delay: number;
}

/** `what`: the deliveries retried, e.g. "mail the relay did not take"; `unit`: one of them, e.g. "a mail". */
export function retrySection(what: string, unit: string, defaults: RetryConfig) {
  return {
    type: 'object',
    description: `Retries of ${what}.`,
    properties: {
      attempts: {
        type: 'integer',
        minimum: 1,
        default: defaults.attempts,
        description: `Tries before ${unit} becomes a dead letter (\`switchboard queue dead\`).`,
      },
      initial_delay: {
        type: 'number',
        exclusiveMinimum: 0,
        default: defaults.initial_delay,
        description: 'Seconds before the first retry; doubled for each further one.',
      },
      max_delay: { type: 'number', exclusiveMinimum: 0, default: defaults.max_delay, description: 'Longest delay between retries, in seconds.' },
    },
  } as const;
}
