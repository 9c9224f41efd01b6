// The human-readable report of `switchboard check`, printed as the checks run.

export class Report {
  private errors = 0;
  private warnings = 0;

  section(title: string): void {
    console.log(`\n${title}`);
  }

  ok(text: string): void {
    this.line('ok   ', text);
  }

  /** A problem worth fixing that does not stop Switchboard from working. */
  warn(text: string, ...details: string[]): void {
    this.warnings++;
    this.line('WARN ', text, details);
  }

  /** Switchboard will not start, or will not work as configured. */
  error(text: string, ...details: string[]): void {
    this.errors++;
    this.line('ERROR', text, details);
  }

  /** Prints the totals; returns the exit status. */
  finish(): number {
    const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
    console.log(`\n${count(this.errors, 'error')}, ${count(this.warnings, 'warning')}`);
    return this.errors === 0 ? 0 : 1;
  }

  private line(label: string, text: string, details: string[] = []): void {
    console.log(`  ${label}  ${text}`);
    for (const detail of details) console.log(`           ${detail}`);
  }
}
