import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';

import { defsSchema } from './generated/defs.js';

const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
// The definitions every wire format refers to (schemas/defs.schema.json).
ajv.addSchema(defsSchema);

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };

/** Makes schemas known by their $id, so that others can refer to them (call before compiling those). */
export function addSchemas(...schemas: object[]): void {
  for (const schema of schemas) {
    const id = (schema as { $id?: string }).$id;
    if (!id || !ajv.getSchema(id)) ajv.addSchema(schema);
  }
}

/** Compiles a JSON Schema (draft 2020-12) into a function that checks data against it. */
export function compileSchema<T>(schema: object): (data: unknown) => ValidationResult<T> {
  const id = (schema as { $id?: string }).$id;
  const validate = (id ? ajv.getSchema<T>(id) : undefined) ?? ajv.compile<T>(schema);
  return (data) => (validate(data) ? { ok: true, value: data } : { ok: false, errors: formatErrors(validate.errors ?? []) });
}

function formatErrors(errors: ErrorObject[]): string[] {
  return errors.map((e) => {
    const where = e.instancePath || '(root)';
    const extra = e.keyword === 'additionalProperties' ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'` : '';
    return `${where} ${e.message ?? 'is invalid'}${extra}`;
  });
}
