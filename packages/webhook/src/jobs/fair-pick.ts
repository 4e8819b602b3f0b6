/** The route a stored job came in on: record ids are `<route>/<job id>`. */
export const routeOf = (recordId: string): string => recordId.slice(0, recordId.indexOf('/'));

/**
 * Takes the next job to process out of `waiting` (oldest first within a route): the oldest of the
 * route with the fewest jobs in progress, so that a route's burst shares the slots with the others
 * instead of holding them all. Returns undefined when nothing waits.
 */
export function takeFairly(waiting: string[], inProgress: ReadonlyMap<string, number>): string | undefined {
  let best = -1;
  let fewest = Infinity;
  for (const [i, id] of waiting.entries()) {
    const n = inProgress.get(routeOf(id)) ?? 0;
    if (n < fewest) {
      best = i;
      fewest = n;
      if (n === 0) break;
    }
  }
  return best < 0 ? undefined : waiting.splice(best, 1)[0];
}

/** Counts jobs in progress per route, for takeFairly. */
export class RouteCounts extends Map<string, number> {
  add(id: string, delta: 1 | -1): void {
    const route = routeOf(id);
    const n = (this.get(route) ?? 0) + delta;
    if (n > 0) this.set(route, n);
    else this.delete(route);
  }
}
