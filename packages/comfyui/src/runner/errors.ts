/** ComfyUI refused a prompt (POST /prompt 400): the error and every node's errors. */
export class ComfyValidationError extends Error {
  constructor(readonly error: { type?: string; message?: string; details?: string }, readonly nodeErrors: Record<string, { errors: { type: string; message: string; details?: string }[]; class_type?: string }>) {
    const nodes = Object.entries(nodeErrors).map(([id, e]) => `node ${id} (${e.class_type ?? '?'}): ${e.errors.map((x) => `${x.message}${x.details ? ` (${x.details})` : ''}`).join('; ')}`);
    super(`ComfyUI refused the workflow: ${error.message ?? error.type ?? 'invalid prompt'}${nodes.length ? `; ${nodes.join('; ')}` : ''}`);
    this.name = 'ComfyValidationError';
  }
}

/** A prompt failed while running (execution_error), or was interrupted. */
export class ComfyExecutionError extends Error {
  constructor(readonly promptId: string, readonly nodeId: string | null, readonly nodeType: string | null, message: string, readonly interrupted = false) {
    super(interrupted ? `prompt ${promptId} was interrupted${nodeId ? ` at node ${nodeId}` : ''}`
      : `node ${nodeId} (${nodeType}) failed: ${message}`);
    this.name = 'ComfyExecutionError';
  }
}

/** ComfyUI could not be reached, or the connection was lost for good. */
export class ComfyConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ComfyConnectionError';
  }
}
