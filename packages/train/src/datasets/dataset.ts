import { existsSync, statSync } from 'node:fs';

import { ClipAgiqaError } from '@clip-agiqa/core';

/** One rated image. `group` is the generation prompt (or prompt id): splits can keep groups apart. */
export interface Sample {
  id: string;
  path: string;
  targets: Record<string, number>;
  prompt?: string;
  group?: string;
  /** The model that generated the image, where the dataset says: reports break metrics down by it. */
  generator?: string;
}

export interface Dataset {
  name: string;
  /** Targets every sample carries, e.g. quality, alignment. */
  targets: string[];
  /** The MOS scale as released. */
  scale: [number, number];
  samples: Sample[];
}

/** Everything wrong with a dataset, listed, instead of training on part of it. */
export class DatasetError extends ClipAgiqaError<'INVALID_DATASET'> {
  constructor(readonly source: string, readonly problems: string[]) {
    const shown = problems.slice(0, 10).map((p) => `  - ${p}`).join('\n');
    const more = problems.length > 10 ? `\n  ... and ${problems.length - 10} more` : '';
    super('INVALID_DATASET', `${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${shown}${more}`);
  }
}

export interface LoadOptions {
  /** Check that every image file exists (default true). */
  checkImages?: boolean;
}

/** Collects problems while rows are read; `finish` validates and throws them all at once. */
export class DatasetBuilder {
  readonly problems: string[] = [];
  private readonly samples: Sample[] = [];
  private readonly ids = new Map<string, string>();

  constructor(private readonly source: string, private readonly options: LoadOptions = {}) {}

  number(value: string | undefined, what: string, where: string): number | undefined {
    const n = value === undefined || value.trim() === '' ? NaN : Number(value);
    if (!Number.isFinite(n)) {
      this.problems.push(`${where}: ${what} ${JSON.stringify(value ?? '')} is not a number`);
      return undefined;
    }
    return n;
  }

  add(sample: Sample, where: string): void {
    const seen = this.ids.get(sample.id);
    if (seen !== undefined) {
      this.problems.push(`${where}: duplicate image ${sample.id} (first at ${seen})`);
      return;
    }
    this.ids.set(sample.id, where);
    if ((this.options.checkImages ?? true) && !(existsSync(sample.path) && statSync(sample.path).isFile())) {
      this.problems.push(`${where}: image ${sample.path} is missing`);
    }
    this.samples.push(sample);
  }

  finish(name: string, targets: string[], scale: [number, number]): Dataset {
    if (this.samples.length === 0 && this.problems.length === 0) this.problems.push('no samples');
    if (this.problems.length) throw new DatasetError(this.source, this.problems);
    return { name, targets, scale, samples: this.samples };
  }
}
