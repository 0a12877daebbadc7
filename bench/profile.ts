import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Summarises the V8 CPU profiles that `--profile <dir>` writes for benchmark 1: self time per
 * function, counted only inside the measured run (start-up and warm-up excluded).
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  windowMs: number;
  top: Array<{ function: string; selfMs: number; share: number }>;
}

export function summarizeProfile(file: string, window: [number, number], limit = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<string, number>();
  let time = profile.startTime;
  let total = 0;
  profile.samples.forEach((sample, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    time += delta;
    if (time < window[0] || time > window[1]) return;
    const frame = nodes.get(sample)?.callFrame;
    const name = frame
      ? `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`
      : '?';
    selfMicros.set(name, (selfMicros.get(name) ?? 0) + delta);
    total += delta;
  });
  const top = [...selfMicros.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, micros]) => ({
      function: name,
      selfMs: Math.round(micros / 100) / 10,
      share: total > 0 ? Math.round((micros / total) * 1000) / 1000 : 0,
    }));
  return { file, windowMs: Math.round(total / 100) / 10, top };
}

/** Every profile in `dir` that has its measured window recorded beside it. */
export function summarizeProfiles(dir: string, limit?: number): ProfileSummary[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .flatMap((name) => {
      try {
        const window = JSON.parse(readFileSync(join(dir, `${name}.window.json`), 'utf8')) as [number, number];
        return [summarizeProfile(join(dir, name), window, limit)];
      } catch {
        return [];
      }
    });
}
