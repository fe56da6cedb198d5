/**
 * How the page writes the time since a transition: at most two units, so a
 * glance reads it (`now`, `45s`, `10m30s`, `1h12m`, `1d16h`), as upstream's
 * dashboard does. The page runs this very function: `assets/mod.ts` puts its
 * source text in front of the script, so it must stay self-contained.
 * @module
 */

/** Two-unit age of `ms` milliseconds; `now` under a second. */
export function formatAge(ms: number): string {
  if (!(ms >= 1000)) return "now";
  const s = Math.floor(ms / 1000);
  const units = [
    [Math.floor(s / 86400), "d"],
    [Math.floor(s / 3600) % 24, "h"],
    [Math.floor(s / 60) % 60, "m"],
    [s % 60, "s"],
  ] as const;
  const first = units.findIndex(([n]) => n > 0);
  const [n1, u1] = units[first];
  const next = units[first + 1];
  return next && next[0] > 0 ? `${n1}${u1}${next[0]}${next[1]}` : `${n1}${u1}`;
}
