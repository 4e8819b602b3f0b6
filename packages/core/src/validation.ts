import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';

import { defsSchema } from './generated/defs.js';

const options = { allErrors: true, strict: true, allowUnionTypes: true } as const;
const ajv = new Ajv2020(options);
// Checks and fills in the schema's defaults, for values read in one place rather than defaulted wherever used.
const defaulting = new Ajv2020({ ...options, useDefaults: true });
// The definitions every wire format refers to (schemas/defs.schema.json).
for (const a of [ajv, defaulting]) a.addSchema(defsSchema);

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

/** A definition of schemas/defs.schema.json (e.g. `policy`) as a check that fills in its defaults, in a copy of the data. */
export function compileDefinitionWithDefaults<T>(name: string): (data: unknown) => ValidationResult<T> {
  const validate = defaulting.getSchema<T>(`${defsSchema.$id}#/$defs/${name}`);
  if (!validate) throw new Error(`defs.schema.json has no definition ${name}`);
  return defaultingCopy(validate);
}

/** A JSON Schema (draft 2020-12, free to refer to defs.schema.json) as a check that fills in its defaults, in a copy of the data. */
export function compileSchemaWithDefaults<T>(schema: object): (data: unknown) => ValidationResult<T> {
  const id = (schema as { $id?: string }).$id;
  return defaultingCopy((id ? defaulting.getSchema<T>(id) : undefined) ?? defaulting.compile<T>(schema));
}

function defaultingCopy<T>(validate: ValidateFunction<T>): (data: unknown) => ValidationResult<T> {
  return (data) => {
    const copy = structuredClone(data);
    return validate(copy) ? { ok: true, value: copy as T } : { ok: false, errors: formatErrors(validate.errors ?? []) };
  };
}

function formatErrors(errors: ErrorObject[]): string[] {
  return errors.map((e) => {
    const where = e.instancePath || '(root)';
    const extra = e.keyword === 'additionalProperties' ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'` : '';
    return `${where} ${e.message ?? 'is invalid'}${extra}`;
  });
}
