import { ClipAgiqaError } from '@clip-agiqa/core';

/** ComfyUI refused a prompt (POST /prompt 400): the error and every node's errors. */
export class ComfyValidationError extends ClipAgiqaError<'COMFY_PROMPT_REJECTED'> {
  constructor(readonly error: { type?: string; message?: string; details?: string }, readonly nodeErrors: Record<string, { errors: { type: string; message: string; details?: string }[]; class_type?: string }>) {
    const nodes = Object.entries(nodeErrors).map(([id, e]) => `node ${id} (${e.class_type ?? '?'}): ${e.errors.map((x) => `${x.message}${x.details ? ` (${x.details})` : ''}`).join('; ')}`);
    super('COMFY_PROMPT_REJECTED', `ComfyUI refused the workflow: ${error.message ?? error.type ?? 'invalid prompt'}${nodes.length ? `; ${nodes.join('; ')}` : ''}`);
  }
}

/** A prompt failed while running (execution_error), or was interrupted. */
export class ComfyExecutionError extends ClipAgiqaError<'COMFY_EXECUTION_FAILED' | 'COMFY_INTERRUPTED'> {
  constructor(readonly promptId: string, readonly nodeId: string | null, readonly nodeType: string | null, message: string, readonly interrupted = false) {
    super(interrupted ? 'COMFY_INTERRUPTED' : 'COMFY_EXECUTION_FAILED', interrupted ? `prompt ${promptId} was interrupted${nodeId ? ` at node ${nodeId}` : ''}`
      : `node ${nodeId} (${nodeType}) failed: ${message}`);
  }
}

/** ComfyUI could not be reached, or the connection was lost for good. */
export class ComfyConnectionError extends ClipAgiqaError<'COMFY_UNREACHABLE'> {
  constructor(message: string) {
    super('COMFY_UNREACHABLE', message);
  }
}

/** A workflow that cannot be run as asked: a named seed node or input it does not have, or no seed input at all. */
export class WorkflowError extends ClipAgiqaError<'WORKFLOW_INVALID'> {
  constructor(message: string) {
    super('WORKFLOW_INVALID', message);
  }
}
