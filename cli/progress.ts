import { formatBytes } from './format.js';

/**
 * Per-file progress on stderr. On a terminal: one line per file, redrawn in place with ANSI
 * escapes (at most ten times a second). Otherwise: plain lines, one per stage change and one
 * per 10 % step at most once a second, so logs stay readable. `none` prints nothing (--json).
 */
export type ProgressMode = 'tty' | 'plain' | 'none';

export interface FileProgress {
  /** A stage without byte counts: "hashing", "waiting", "PROCESSED"... */
  stage(text: string): void;
  bytes(loaded: number, total: number): void;
}

export interface ProgressWriter {
  write(text: string): unknown;
  columns?: number;
  rows?: number;
}

interface Line {
  label: string;
  stage: string;
  loaded: number;
  total: number;
  showBytes: boolean;
  lastPlainStep: number;
  lastPlainAt: number;
}

const BAR_WIDTH = 24;
const REDRAW_MS = 100;
const PLAIN_INTERVAL_MS = 1000;

export class ProgressBoard {
  private readonly lines: Line[] = [];
  private drawn = 0;
  private lastDraw = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly labelWidth: number;

  constructor(
    private readonly mode: ProgressMode,
    private readonly out: ProgressWriter,
    labels: readonly string[],
    private readonly now: () => number = Date.now,
  ) {
    this.labelWidth = Math.min(40, Math.max(0, ...labels.map((label) => [...label].length)));
  }

  add(label: string): FileProgress {
    const line: Line = {
      label,
      stage: 'queued',
      loaded: 0,
      total: 0,
      showBytes: false,
      lastPlainStep: -1,
      lastPlainAt: -Infinity,
    };
    this.lines.push(line);
    this.schedule();
    return {
      stage: (text) => {
        if (line.stage === text && !line.showBytes) return;
        line.stage = text;
        line.showBytes = false;
        if (this.mode === 'plain') this.out.write(`${label}: ${text}\n`);
        else this.schedule();
      },
      bytes: (loaded, total) => {
        line.loaded = loaded;
        line.total = total;
        line.showBytes = true;
        line.stage = 'uploading';
        if (this.mode === 'plain') this.plainBytes(line);
        else this.schedule();
      },
    };
  }

  /** Draws the final state and stops redrawing. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.mode === 'tty') this.draw();
  }

  private plainBytes(line: Line): void {
    const percent = line.total === 0 ? 100 : Math.floor((line.loaded / line.total) * 100);
    const step = Math.floor(percent / 10);
    const now = this.now();
    const complete = line.loaded >= line.total;
    const due = step > line.lastPlainStep && now - line.lastPlainAt >= PLAIN_INTERVAL_MS;
    if (!(due || (complete && line.lastPlainStep < 10))) return;
    line.lastPlainStep = complete ? 10 : step;
    line.lastPlainAt = now;
    this.out.write(
      `${line.label}: uploading ${percent}% (${formatBytes(line.loaded)} of ${formatBytes(line.total)})\n`,
    );
  }

  private schedule(): void {
    if (this.mode !== 'tty' || this.timer) return;
    const wait = Math.max(0, this.lastDraw + REDRAW_MS - this.now());
    if (wait === 0) {
      this.draw();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, wait);
  }

  private draw(): void {
    this.lastDraw = this.now();
    const columns = Math.max(20, (this.out.columns || 80) - 1);
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const line of this.lines) text += `\r\x1b[2K${truncate(this.render(line), columns)}\n`;
    this.drawn = this.lines.length;
    this.out.write(text);
  }

  private render(line: Line): string {
    const label = truncate(line.label, this.labelWidth).padEnd(this.labelWidth);
    if (!line.showBytes) return `${label}  ${line.stage}`;
    const ratio = line.total === 0 ? 1 : Math.min(1, line.loaded / line.total);
    const filled = Math.round(ratio * BAR_WIDTH);
    const bar = '#'.repeat(filled) + '.'.repeat(BAR_WIDTH - filled);
    const percent = `${Math.floor(ratio * 100)}%`.padStart(4);
    return `${label}  [${bar}] ${percent}  ${formatBytes(line.loaded)}/${formatBytes(line.total)}`;
  }
}

function truncate(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

/** tty when stderr is a terminal tall enough for one line per file; none in JSON mode. */
export function progressMode(
  json: boolean,
  stream: { isTTY?: boolean; rows?: number },
  files: number,
): ProgressMode {
  if (json) return 'none';
  if (stream.isTTY !== true) return 'plain';
  return files < (stream.rows || 24) ? 'tty' : 'plain'; // 0: a terminal of unknown size
}
