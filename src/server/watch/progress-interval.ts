import { DEFAULT_PROGRESS_INTERVAL_MS, MIN_PROGRESS_INTERVAL_MS } from './limits.js';

/**
 * The progress notify period of one stream, as etcd picks it: the configured interval (default
 * 10 min, raised to at least 100 ms) plus a random jitter of up to 10 %, so streams created
 * together do not all tick together.
 */
export function progressInterval(configuredMs: number | undefined, random: () => number = Math.random): number {
  const base = Math.max(MIN_PROGRESS_INTERVAL_MS, configuredMs ?? DEFAULT_PROGRESS_INTERVAL_MS);
  return base + Math.floor(random() * (base / 10));
}
