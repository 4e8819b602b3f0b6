/** Slots with a ceiling: `tryAcquire` is false once `max` are held. */
export class Slots {
  private held = 0;
  constructor(readonly max: number) {}

  get count(): number {
    return this.held;
  }

  tryAcquire(): boolean {
    if (this.held >= this.max) return false;
    this.held++;
    return true;
  }

  release(): void {
    this.held--;
  }
}
