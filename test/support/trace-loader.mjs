// A module loader hook that names every module a process loads, one "loaded URL" line each on stderr.
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  process.stderr.write(`loaded ${r.url}\n`);
  return r;
}
