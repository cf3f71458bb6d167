import cliProgress from 'cli-progress';

/** Display width of text in a terminal: East Asian wide characters take two columns. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    width +=
      (code >= 0x1100 && code <= 0x115f) ||
      (code >= 0x2e80 && code <= 0xa4cf) ||
      (code >= 0xac00 && code <= 0xd7a3) ||
      (code >= 0xf900 && code <= 0xfaff) ||
      (code >= 0xfe30 && code <= 0xfe4f) ||
      (code >= 0xff00 && code <= 0xff60) ||
      (code >= 0xffe0 && code <= 0xffe6) ||
      (code >= 0x1f300 && code <= 0x1faff) ||
      (code >= 0x20000 && code <= 0x3fffd)
        ? 2
        : 1;
  }
  return width;
}

function pad(text: string, width: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return right ? fill + text : text + fill;
}

/** A plain-text table; columns whose cells are all numbers are right-aligned. */
export function formatTable(header: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toLocaleString('en-US') : c)));
  const numeric = header.map((_, i) => rows.every((r) => typeof r[i] === 'number'));
  const widths = header.map((h, i) =>
    Math.max(displayWidth(h), ...cells.map((r) => displayWidth(r[i] ?? ''))),
  );
  const line = (r: string[]) =>
    r
      .map((c, i) => pad(c, widths[i]!, numeric[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

export type Progress = { update(done: number, total?: number, detail?: string): void; stop(): void };

/**
 * A progress bar on a terminal; elsewhere (CI, logs) a plain line at most every two seconds,
 * so that long operations still show they are alive.
 */
export function startProgress(label: string, total?: number): Progress {
  const started = performance.now();
  const rate = (done: number) => Math.round(done / Math.max(0.001, (performance.now() - started) / 1000));
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {value}/{total} | {rate}/s | {detail}`,
        hideCursor: true,
        stream: process.stderr,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total ?? 1, 0, { rate: 0, detail: '' });
    return {
      update(done, newTotal, detail = '') {
        if (newTotal !== undefined) bar.setTotal(newTotal);
        bar.update(done, { rate: rate(done).toLocaleString('en-US'), detail });
      },
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  return {
    update(done, newTotal, detail = '') {
      const now = performance.now();
      if (now - last < 2000) return;
      last = now;
      const of = newTotal ?? total;
      process.stderr.write(
        `${label}: ${done.toLocaleString('en-US')}${of ? ` of ${of.toLocaleString('en-US')}` : ''} (${rate(done).toLocaleString('en-US')}/s) ${detail}\n`,
      );
    },
    stop() {},
  };
}
