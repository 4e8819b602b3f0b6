import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Decodes at least this large are followed by a collection: below it the heap's own pace keeps up. */
const LARGE_DECODE_BYTES = 64 << 20;

let collect: (() => void) | undefined;

/**
 * A full-resolution decode leaves hundreds of megabytes in buffers V8 frees only at its next full
 * collection, which may come several decodes later: the process then holds two or three decodes at
 * once while the memory budget counts one. After a large decode, collecting at once keeps RSS to what
 * the budget counts (bench/webhook-load.ts, decode scenario). V8's gc() is exposed once for this.
 */
export function collectAfterDecode(cost: number): void {
  if (cost < LARGE_DECODE_BYTES) return;
  if (!collect) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) collect = exposed;
    else {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as () => void;
    }
  }
  collect();
}
