// validate.mjs checks an OpenAPI document with @apidevtools/swagger-parser,
// a validator independent of the Go code that built the document: it checks
// the document against the OpenAPI JSON Schema and the rules a schema cannot
// express (unique operationIds, path parameters declared, and so on).
//
// Usage: node validate.mjs openapi.json
// Prints "valid <openapi version> <number of paths>" and exits 0, or prints
// the validator's error and exits 1.
import SwaggerParser from "@apidevtools/swagger-parser";

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate.mjs openapi.json");
  process.exit(2);
}
try {
  const api = await SwaggerParser.validate(file);
  console.log(`valid ${api.openapi} ${Object.keys(api.paths).length}`);
} catch (err) {
  console.error(String(err && err.message ? err.message : err));
  process.exit(1);
}
